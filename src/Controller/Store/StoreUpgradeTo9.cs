using System.Data.Common;
using System.Text.Json;
using Hawser.Controller.Api;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store.Engines;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Store;

/// <summary>
/// Schema step 9: each node's latest report and outcome report, kept until now as serialized <c>hawser.v1.StatusReport</c>
/// blobs, become JSON of the domain's <see cref="NodeReport"/> (bounded as every report received since issue 24 is).
/// </summary>
internal static class StoreUpgradeTo9
{
    /// <summary>Runs the step on <paramref name="connection"/> inside <paramref name="transaction"/>.</summary>
    public static void Run(DbConnection connection, DbTransaction transaction, StoreEngine engine) =>
        NodeBlobsToJson.Run(connection, transaction, engine, [("last_report", "last_report_json"), ("outcome_report", "outcome_report_json")],
            // Bounded again: a report stored before the bounds may be megabytes.
            blob => JsonSerializer.Serialize(ReportWire.Report(NodeInputBounds.Bound(StatusReport.Parser.ParseFrom(blob))), StoreJsonContext.Default.NodeReport));
}
