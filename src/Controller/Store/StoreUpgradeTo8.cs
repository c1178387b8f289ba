using System.Data.Common;
using System.Globalization;
using Hawser.Controller.Api;
using Hawser.Controller.Rollouts;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

/// <summary>
/// Schema step 8: rollouts from serialized <c>hawser.v1.Rollout</c> documents into rows, and every ISO text time into
/// Unix milliseconds (truncated: the store keeps times to the millisecond). Runs inside the migration's transaction.
/// </summary>
internal static class StoreUpgradeTo8
{
    /// <summary>Each table's ISO time columns: its key, then (old column, new column, whether it may be NULL).</summary>
    private static readonly (string Table, string Key, (string Old, string New, bool Nullable)[] Columns)[] Times =
    [
        ("nodes", "name", [("first_seen", "first_seen_ms", false), ("last_seen", "last_seen_ms", false), ("last_report_at", "last_report_ms", true)]),
        ("revisions", "number", [("created_at", "created_ms", false)]),
        ("join_tokens", "id", [("created_at", "created_ms", false), ("expires_at", "expires_ms", false)]),
        ("certificates", "serial", [("issued_at", "issued_ms", false), ("not_after", "not_after_ms", false), ("revoked_at", "revoked_ms", true)]),
        ("acme_accounts", "directory", [("created_at", "created_ms", false)]),
        ("issued_certificates", "name",
            [("not_before", "not_before_ms", true), ("not_after", "not_after_ms", true), ("issued_at", "issued_ms", true), ("last_attempt", "last_attempt_ms", true)]),
    ];

    private const string RolloutTables = """
        CREATE TABLE rollouts (
            id                 {int} PRIMARY KEY,
            revision           {int} NOT NULL,
            state              TEXT NOT NULL,
            reason             TEXT NOT NULL DEFAULT '',
            settings_json      TEXT NOT NULL,
            batch              {int} NOT NULL DEFAULT 0,
            batches            {int} NOT NULL,
            promoted           {int} NOT NULL DEFAULT 0,
            accepted_failures  {int} NOT NULL DEFAULT 0,
            next_batch_ms      {int},
            created_ms         {int} NOT NULL,
            updated_ms         {int} NOT NULL
        );
        CREATE INDEX rollouts_state ON rollouts(state);
        CREATE TABLE rollout_nodes (
            rollout_id         {int} NOT NULL,
            position           {int} NOT NULL,
            node               TEXT NOT NULL,
            batch              {int} NOT NULL,
            state              TEXT NOT NULL,
            detail             TEXT NOT NULL DEFAULT '',
            failure            TEXT NOT NULL DEFAULT '',
            previous_revision  {int} NOT NULL DEFAULT 0,
            moved_ms           {int},
            healthy_since_ms   {int},
            unchanged          {int} NOT NULL DEFAULT 0,
            PRIMARY KEY (rollout_id, position)
        );
        """;

    /// <summary>Runs the step on <paramref name="connection"/> inside <paramref name="transaction"/>.</summary>
    public static void Run(DbConnection connection, DbTransaction transaction, StoreEngine engine)
    {
        // The documents are read before their table is replaced (a rename would keep the old table's index names on PostgreSQL).
        var rollouts = ReadDocuments(connection, transaction);
        engine.Execute(connection, transaction, "DROP TABLE rollouts;\n" + RolloutTables + string.Concat(Times.SelectMany(t => t.Columns.Select(c =>
            $"ALTER TABLE {t.Table} ADD COLUMN {c.New} {{int}}{(c.Nullable ? "" : " NOT NULL DEFAULT 0")};\n"))));
        foreach (var (table, key, columns) in Times)
        {
            ConvertTimes(connection, transaction, table, key, columns);
        }
        foreach (var rollout in rollouts)
        {
            RolloutRows.WriteAsync(connection, transaction, rollout, isNew: true, CancellationToken.None).GetAwaiter().GetResult();
        }
        engine.Execute(connection, transaction, string.Concat(Times.SelectMany(t => t.Columns.Select(c => $"ALTER TABLE {t.Table} DROP COLUMN {c.Old};\n"))));
    }

    private static List<RolloutRecord> ReadDocuments(DbConnection connection, DbTransaction transaction)
    {
        var rollouts = new List<RolloutRecord>();
        using var command = connection.Command(transaction, "SELECT document, created_at, updated_at FROM rollouts ORDER BY id");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var rollout = RolloutWire.Record(Shared.Protocol.V1.Rollout.Parser.ParseFrom((byte[])reader["document"]));
            // A document always carries its times; the row's are the fallback.
            rollout.CreatedAt = rollout.CreatedAt == default ? Parse((string)reader["created_at"]) : rollout.CreatedAt;
            rollout.UpdatedAt = rollout.UpdatedAt == default ? Parse((string)reader["updated_at"]) : rollout.UpdatedAt;
            rollouts.Add(rollout);
        }
        return rollouts;
    }

    private static void ConvertTimes(DbConnection connection, DbTransaction transaction, string table, string key, (string Old, string New, bool Nullable)[] columns)
    {
        var rows = new List<object[]>();
        using (var select = connection.Command(transaction, $"SELECT {key}, {string.Join(", ", columns.Select(c => c.Old))} FROM {table}"))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                var row = new object[columns.Length + 1];
                reader.GetValues(row);
                rows.Add(row);
            }
        }
        using var update = connection.Command(transaction,
            $"UPDATE {table} SET {string.Join(", ", columns.Select((c, i) => $"{c.New} = @v{i}"))} WHERE {key} = @key");
        var keyParameter = update.Add("@key", null);
        var values = columns.Select((_, i) => update.Add($"@v{i}", null)).ToArray();
        foreach (var row in rows)
        {
            keyParameter.Value = row[0];
            for (var i = 0; i < columns.Length; i++)
            {
                values[i].Value = row[i + 1] is string text ? Parse(text).ToUnixTimeMilliseconds() : DBNull.Value;
            }
            update.ExecuteNonQuery();
        }
    }

    private static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
}
