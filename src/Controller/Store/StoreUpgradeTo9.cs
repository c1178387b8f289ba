using System.Data.Common;
using System.Text.Json;
using Hawser.Controller.Api;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store.Engines;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Store;

/// <summary>
/// Schema step 9: each node's latest report and outcome report, kept until now as serialized <c>hawser.v1.StatusReport</c>
/// blobs, become JSON of the domain's <see cref="NodeReport"/> (bounded as every report received since issue 24 is). Runs
/// inside the migration's transaction.
/// </summary>
internal static class StoreUpgradeTo9
{
    private static readonly (string Old, string New)[] Columns = [("last_report", "last_report_json"), ("outcome_report", "outcome_report_json")];

    /// <summary>Runs the step on <paramref name="connection"/> inside <paramref name="transaction"/>.</summary>
    public static void Run(DbConnection connection, DbTransaction transaction, StoreEngine engine)
    {
        engine.Execute(connection, transaction, string.Concat(Columns.Select(c => $"ALTER TABLE nodes ADD COLUMN {c.New} TEXT;\n")));
        var rows = new List<(string Node, byte[]? Last, byte[]? Outcome)>();
        using (var select = connection.Command(transaction, "SELECT name, last_report, outcome_report FROM nodes"))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                var row = new StoreRow(reader);
                rows.Add((row.Text("name"), row.BytesOrNull("last_report"), row.BytesOrNull("outcome_report")));
            }
        }
        using var update = connection.Command(transaction, "UPDATE nodes SET last_report_json = @last, outcome_report_json = @outcome WHERE name = @node");
        var node = update.Add("@node", null);
        var last = update.Add("@last", null);
        var outcome = update.Add("@outcome", null);
        foreach (var row in rows)
        {
            node.Value = row.Node;
            last.Value = Json(row.Last);
            outcome.Value = Json(row.Outcome);
            update.ExecuteNonQuery();
        }
        engine.Execute(connection, transaction, string.Concat(Columns.Select(c => $"ALTER TABLE nodes DROP COLUMN {c.Old};\n")));
    }

    /// <summary>A stored blob as the JSON the store now keeps (bounded again: one stored before the bounds may be megabytes).</summary>
    private static object Json(byte[]? blob) => blob is null
        ? DBNull.Value
        : JsonSerializer.Serialize(ReportWire.Report(NodeInputBounds.Bound(StatusReport.Parser.ParseFrom(blob))), StoreJsonContext.Default.NodeReport);
}
