using System.Data.Common;
using System.Text.Json;
using Hawser.Controller.Api;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store.Engines;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Store;

/// <summary>
/// Schema step 10: each node's host facts, kept until now as a serialized <c>hawser.v1.HostFacts</c> blob (empty when the
/// hello had none), become JSON of the domain's <see cref="NodeFacts"/>.
/// </summary>
internal static class StoreUpgradeTo10
{
    /// <summary>Runs the step on <paramref name="connection"/> inside <paramref name="transaction"/>.</summary>
    public static void Run(DbConnection connection, DbTransaction transaction, StoreEngine engine) =>
        NodeBlobsToJson.Run(connection, transaction, engine, [("facts", "facts_json")],
            // Bounded again: facts stored before issue 24's bounds may be large.
            blob => blob.Length == 0 ? DBNull.Value
                : JsonSerializer.Serialize(FactsWire.Facts(NodeInputBounds.Bound(HostFacts.Parser.ParseFrom(blob))), StoreJsonContext.Default.NodeFacts));
}
