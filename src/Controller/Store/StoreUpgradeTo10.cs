using System.Data.Common;
using System.Text.Json;
using Hawser.Controller.Api;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store.Engines;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Store;

/// <summary>
/// Schema step 10: each node's host facts, kept until now as a serialized <c>hawser.v1.HostFacts</c> blob (empty when the
/// hello had none), become JSON of the domain's <see cref="NodeFacts"/>, bounded again on the way (facts stored before
/// issue 24's bounds may be large). Runs inside the migration's transaction.
/// </summary>
internal static class StoreUpgradeTo10
{
    /// <summary>Runs the step on <paramref name="connection"/> inside <paramref name="transaction"/>.</summary>
    public static void Run(DbConnection connection, DbTransaction transaction, StoreEngine engine)
    {
        engine.Execute(connection, transaction, "ALTER TABLE nodes ADD COLUMN facts_json TEXT;\n");
        var rows = new List<(string Node, byte[] Facts)>();
        using (var select = connection.Command(transaction, "SELECT name, facts FROM nodes WHERE facts IS NOT NULL"))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                var row = new StoreRow(reader);
                rows.Add((row.Text("name"), row.BytesOrNull("facts")!));
            }
        }
        using var update = connection.Command(transaction, "UPDATE nodes SET facts_json = @facts WHERE name = @node");
        var node = update.Add("@node", null);
        var facts = update.Add("@facts", null);
        foreach (var row in rows.Where(r => r.Facts.Length > 0))
        {
            node.Value = row.Node;
            facts.Value = JsonSerializer.Serialize(FactsWire.Facts(NodeInputBounds.Bound(HostFacts.Parser.ParseFrom(row.Facts))), StoreJsonContext.Default.NodeFacts);
            update.ExecuteNonQuery();
        }
        engine.Execute(connection, transaction, "ALTER TABLE nodes DROP COLUMN facts;\n");
    }
}
