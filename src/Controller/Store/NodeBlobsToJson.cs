using System.Data.Common;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

/// <summary>
/// What schema steps 9 and 10 share: node columns that kept serialized wire messages become TEXT columns of JSON of the
/// domain's records. Runs inside the migration's transaction.
/// </summary>
internal static class NodeBlobsToJson
{
    /// <summary>
    /// Adds each new column, fills it from its old blob column through <paramref name="convert"/> (a NULL blob stays NULL;
    /// <paramref name="convert"/> returns the JSON, or <see cref="DBNull.Value"/>), then drops the old columns.
    /// </summary>
    public static void Run(DbConnection connection, DbTransaction transaction, StoreEngine engine, (string Old, string New)[] columns, Func<byte[], object> convert)
    {
        engine.Execute(connection, transaction, string.Concat(columns.Select(c => $"ALTER TABLE nodes ADD COLUMN {c.New} TEXT;\n")));
        var rows = new List<(string Node, byte[]?[] Blobs)>();
        using (var select = connection.Command(transaction, $"SELECT name, {string.Join(", ", columns.Select(c => c.Old))} FROM nodes"))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                var row = new StoreRow(reader);
                rows.Add((row.Text("name"), [.. columns.Select(c => row.BytesOrNull(c.Old))]));
            }
        }
        using var update = connection.Command(transaction,
            $"UPDATE nodes SET {string.Join(", ", columns.Select((c, i) => $"{c.New} = @value{i}"))} WHERE name = @node");
        var node = update.Add("@node", null);
        var values = columns.Select((_, i) => update.Add($"@value{i}", null)).ToArray();
        foreach (var row in rows)
        {
            node.Value = row.Node;
            for (var i = 0; i < values.Length; i++)
            {
                values[i].Value = row.Blobs[i] is { } blob ? convert(blob) : DBNull.Value;
            }
            update.ExecuteNonQuery();
        }
        engine.Execute(connection, transaction, string.Concat(columns.Select(c => $"ALTER TABLE nodes DROP COLUMN {c.Old};\n")));
    }
}
