using System.Data.Common;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

/// <summary>
/// Copies every row of one store into another, empty one (SQLite to PostgreSQL, or back) in one transaction
/// of the target, then reads both back and compares them table by table, value by value.
/// </summary>
public static class StoreCopy
{
    /// <summary>Rows inserted per statement batch.</summary>
    private const int Batch = 500;

    /// <summary>
    /// Copies <paramref name="from"/> into <paramref name="to"/>, telling <paramref name="progress"/> each table
    /// as it is done; returns the rows copied per table. Refuses a target that holds any row but those its schema wrote
    /// (nothing is changed); those are replaced by the source's.
    /// </summary>
    public static IReadOnlyList<(string Table, long Rows)> Copy(ControllerStore from, ControllerStore to, Action<string> progress)
    {
        using var target = to.OpenConnection();
        foreach (var table in StoreTables.All.Where(t => !t.Seeded))
        {
            using var count = target.Command(null, $"SELECT COUNT(*) FROM {table.Name}");
            if (Convert.ToInt64(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) is var rows and > 0)
            {
                throw new StoreException($"the target {to.DatabasePath} is not empty ({table.Name} holds {rows} row(s)); migrate only into a new store; nothing was changed");
            }
        }
        using var source = from.OpenConnection();
        using var transaction = target.BeginTransaction();
        var copied = new List<(string, long)>();
        foreach (var table in StoreTables.All)
        {
            if (table.Seeded)
            {
                using var clear = target.Command(transaction, $"DELETE FROM {table.Name}");
                clear.ExecuteNonQuery();
            }
            using var select = source.Command(null, $"SELECT * FROM {table.Name} ORDER BY {table.Key}");
            using var reader = select.ExecuteReader();
            var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
            using var insert = target.Command(transaction,
                $"INSERT INTO {table.Name} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select((_, i) => $"@p{i}"))})");
            var rows = 0L;
            while (reader.Read())
            {
                for (var i = 0; i < columns.Length; i++)
                {
                    insert.Set($"@p{i}", reader.GetValue(i));
                }
                insert.ExecuteNonQuery();
                if (++rows % (Batch * 20) == 0)
                {
                    progress($"  {table.Name}: {rows} rows...");
                }
            }
            copied.Add((table.Name, rows));
            progress($"  {table.Name}: {rows} row(s)");
        }
        foreach (var sql in to.Engine.AfterCopySql())
        {
            using var command = target.Command(transaction, sql);
            command.ExecuteNonQuery();
        }
        transaction.Commit();
        return copied;
    }

    /// <summary>Compares every table of the two stores row by row; returns the differences (empty when identical).</summary>
    public static IReadOnlyList<string> Compare(ControllerStore a, ControllerStore b)
    {
        using var left = a.OpenConnection();
        using var right = b.OpenConnection();
        var differences = new List<string>();
        foreach (var table in StoreTables.All)
        {
            var rowsA = ReadAll(left, table);
            var rowsB = ReadAll(right, table);
            if (rowsA.Count != rowsB.Count)
            {
                differences.Add($"{table.Name}: {rowsA.Count} row(s) in {a.DatabasePath}, {rowsB.Count} in {b.DatabasePath}");
                continue;
            }
            for (var row = 0; row < rowsA.Count; row++)
            {
                foreach (var (column, value) in rowsA[row])
                {
                    if (!rowsB[row].TryGetValue(column, out var other) || !SameValue(value, other))
                    {
                        differences.Add($"{table.Name} row {row + 1}: {column} differs");
                    }
                }
            }
        }
        return differences;
    }

    private static List<Dictionary<string, object?>> ReadAll(DbConnection connection, StoreTable table)
    {
        using var select = connection.Command(null, $"SELECT * FROM {table.Name} ORDER BY {table.Key}");
        using var reader = select.ExecuteReader();
        var rows = new List<Dictionary<string, object?>>();
        while (reader.Read())
        {
            rows.Add(Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i)));
        }
        return rows;
    }

    /// <summary>Equal as stored: bytes by content, integers whatever their width.</summary>
    private static bool SameValue(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (byte[] x, byte[] y) => x.AsSpan().SequenceEqual(y),
        (long or int or short, long or int or short) => Convert.ToInt64(a, System.Globalization.CultureInfo.InvariantCulture) == Convert.ToInt64(b, System.Globalization.CultureInfo.InvariantCulture),
        _ => Equals(a, b),
    };
}
