using System.Collections.Concurrent;
using System.Data.Common;
using System.Data;
using System.Globalization;
using System.Text.Json;
using Hawser.Controller.Rollouts;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>Nodes and what they report: enrollment records, desired and pinned revisions, hellos, reports.</summary>
public sealed class NodeRepository(ControllerStore store) : IDisposable
{
    /// <summary>
    /// Sets many nodes' desired revisions and labels in one transaction; with <paramref name="followNewest"/>, also ends every
    /// pin (a plain apply), refused with <see cref="RolloutActiveException"/> while a rollout is active.
    /// </summary>
    public async Task UpdateAsync(IReadOnlyDictionary<string, ulong> desiredRevisions, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> labels, bool followNewest = false, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (followNewest)
        {
            // Not while a rollout moves nodes (one started through another controller since the caller looked):
            // checked under the lock a rollout's start takes, so one of the two waits for the other.
            await store.LockForNumberingAsync(connection, transaction, "rollouts", cancellationToken);
            await RolloutRepository.ThrowIfActiveAsync(connection, transaction, cancellationToken);
            using var unpin = connection.CreateCommand();
            unpin.Transaction = transaction;
            // Only rows with a pin: a row lock on every node would wait for (and hold up) every report being written.
            unpin.CommandText = "UPDATE nodes SET pinned_revision = NULL WHERE pinned_revision IS NOT NULL";
            await unpin.ExecuteNonQueryAsync(cancellationToken);
        }
        await WriteDesiredRevisionsAsync(connection, transaction, desiredRevisions, cancellationToken);
        await SetPerNodeAsync(connection, transaction, "labels_json", DbType.String, labels,
            values => JsonSerializer.Serialize(new Dictionary<string, string>(values), StoreJsonContext.Default.DictionaryStringString), cancellationToken);
        await store.MarkChangedAsync(connection, transaction, ControllerStore.Topics.Desired, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>How many nodes one statement of <see cref="SetPerNodeAsync"/> sets (two parameters each, well inside both engines' limits).</summary>
    private const int NodesPerStatement = 500;

    /// <summary>
    /// Sets one column of many nodes, each to its own value, inside <paramref name="transaction"/>: a statement per
    /// <see cref="NodesPerStatement"/> nodes (a fleet of thousands is a few round trips, not one per node).
    /// </summary>
    internal static async Task SetPerNodeAsync<T>(DbConnection connection, DbTransaction transaction, string column, DbType type,
        IEnumerable<KeyValuePair<string, T>> values, Func<T, object> toColumn, CancellationToken cancellationToken)
    {
        foreach (var chunk in values.Chunk(NodesPerStatement))
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            var rows = new System.Text.StringBuilder();
            for (var i = 0; i < chunk.Length; i++)
            {
                // SELECT ... UNION ALL rather than VALUES: SQLite cannot name a VALUES list's columns.
                rows.Append(i == 0 ? "SELECT " : " UNION ALL SELECT ").Append(CultureInfo.InvariantCulture, $"@n{i} AS name, @v{i} AS value");
                command.Add($"@n{i}", DbType.String).Value = chunk[i].Key;
                command.Add($"@v{i}", type).Value = toColumn(chunk[i].Value);
            }
            // The column is one of this class's constants, never input. A row that already holds the value is not
            // written: its lock would wait for that node's report being stored.
            command.CommandText = $"""
                UPDATE nodes SET {column} = v.value FROM ({rows}) AS v
                WHERE nodes.name = v.name AND nodes.{column} IS DISTINCT FROM v.value
                """;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Records what an agent said in its hello: version, facts, the revision it has applied.</summary>
    public async Task RecordHelloAsync(string node, string agentVersion, NodeFacts? facts, ulong appliedRevision, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE nodes SET agent_version = @agent, facts_json = @facts, applied_revision = @applied, last_seen_ms = @now WHERE name = @node";
        command.Add("@node", node);
        command.Add("@agent", agentVersion);
        command.Add("@facts", FactsJson(facts));
        command.Add("@applied", (long)appliedRevision);
        command.Add("@now", StoreRow.Ms(DateTimeOffset.UtcNow));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Revokes every certificate of <paramref name="node"/> and deletes the node, with its <c>node.removed</c> event by <paramref name="actor"/>; returns how many were revoked.</summary>
    public async Task<int> RemoveAsync(string node, string actor = "controller", CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE certificates SET revoked_ms = @now WHERE node = @node AND revoked_ms IS NULL";
        command.Add("@now", StoreRow.Ms(DateTimeOffset.UtcNow));
        command.Add("@node", node);
        var revoked = await command.ExecuteNonQueryAsync(cancellationToken);
        command.CommandText = "DELETE FROM nodes WHERE name = @node";
        await command.ExecuteNonQueryAsync(cancellationToken);
        var appended = (await store.Events.AppendAsync(connection, transaction, new EventRecord
        {
            Kind = "node.removed", Actor = actor, Node = node, Summary = $"node {node} removed; {revoked} certificate(s) revoked",
        }, cancellationToken));
        await store.MarkChangedAsync(connection, transaction, ControllerStore.Topics.Nodes, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        store.Events.Stored([appended]);
        return revoked;
    }

    /// <summary>Sets the revision a node should be at.</summary>
    public async Task SetDesiredRevisionAsync(string node, ulong revision, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE nodes SET desired_revision = @revision WHERE name = @node";
        command.Add("@node", node);
        command.Add("@revision", (long)revision);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // SQLite's one report connection is taken by one writer at a time; waiting for it holds no thread.
    private readonly SemaphoreSlim _reportGate = new(1, 1);

    // Reports waiting for SQLite's report connection: whoever holds it writes all that wait, in one transaction.
    private readonly ConcurrentQueue<PendingReport> _pendingReports = new();

    /// <summary>The most reports one SQLite transaction takes.</summary>
    private const int ReportsPerTransaction = 512;

    private ReportStatements? _reportStatements;

    /// <summary>One node's report as <see cref="RecordReportAsync"/> writes it, and whether it was written.</summary>
    private sealed record PendingReport(string Node, ulong AppliedRevision, string Report, bool DriftCorrected, string? Outcome, IReadOnlyList<EventRecord> Events)
    {
        public TaskCompletionSource Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Records an agent's report: its applied revision, the report, a drift correction when it was one, and the events it makes;
    /// <paramref name="isOutcome"/> marks the converge of the revision the node was last sent, kept as what that revision did
    /// (<paramref name="outcome"/> when it differs from the report: the rounds of one revision added up).
    /// </summary>
    public async Task RecordReportAsync(string node, ulong appliedRevision, NodeReport report, bool driftCorrected, IReadOnlyList<EventRecord>? events = null,
        bool isOutcome = false, NodeReport? outcome = null, CancellationToken cancellationToken = default)
    {
        var json = Json(report);
        var pending = new PendingReport(node, appliedRevision, json, driftCorrected, !isOutcome ? null : outcome is null ? json : Json(outcome), events ?? []);
        if (store.Engine.IsShared)
        {
            // PostgreSQL takes reports side by side, each on a pooled connection (Npgsql prepares the statements it
            // sees often), awaited: thousands of agents reporting at once must not each hold a thread on a round trip.
            using var statements = new ReportStatements(await store.OpenConnectionAsync(cancellationToken), store.Outbox, prepare: false);
            var appended = (await statements.WriteAsync([pending], StoreRow.Ms(DateTimeOffset.UtcNow), cancellationToken))[0];
            if (appended.Count > 0)
            {
                store.Events.Stored(appended);
            }
        }
        else
        {
            // Group commit: SQLite commits one transaction at a time, so the reports that arrived while one was written go
            // in the next together (thousands of agents answering one apply), each caller still told its own outcome.
            _pendingReports.Enqueue(pending);
            await _reportGate.WaitAsync(cancellationToken);
            try
            {
                while (!pending.Written.Task.IsCompleted)
                {
                    // Not cancelled with this caller: the batch holds other agents' reports too, and a local write is short.
                    await WritePendingReportsAsync(CancellationToken.None);
                }
            }
            finally
            {
                _reportGate.Release();
            }
            // The writer said the batch's events (Stored): a caller that stopped waiting (its stream closed) still has its report
            // written and its events said.
            await pending.Written.Task;
        }
    }

    /// <summary>Writes up to <see cref="ReportsPerTransaction"/> waiting reports in one transaction; under the report gate.</summary>
    private async Task WritePendingReportsAsync(CancellationToken cancellationToken)
    {
        var batch = new List<PendingReport>();
        while (batch.Count < ReportsPerTransaction && _pendingReports.TryDequeue(out var next))
        {
            batch.Add(next);
        }
        try
        {
            _reportStatements ??= new ReportStatements(store.OpenConnection(), store.Outbox);
            var written = await _reportStatements.WriteAsync(batch, StoreRow.Ms(DateTimeOffset.UtcNow), cancellationToken);
            if (written.SelectMany(events => events).ToList() is { Count: > 0 } appended)
            {
                store.Events.Stored(appended);
            }
            foreach (var report in batch)
            {
                report.Written.TrySetResult();
            }
        }
        catch (Exception ex)
        {
            // A failed write (a full disk, a store gone read-only) leaves nothing half done; each report of the batch is told
            // so, and the next write starts afresh.
            _reportStatements?.Dispose();
            _reportStatements = null;
            foreach (var failed in batch)
            {
                failed.Written.TrySetException(ex);
            }
        }
    }

    private static string Json(NodeReport report) => JsonSerializer.Serialize(report, StoreJsonContext.Default.NodeReport);

    private static object FactsJson(NodeFacts? facts) => facts is null ? DBNull.Value : JsonSerializer.Serialize(facts, StoreJsonContext.Default.NodeFacts);

    /// <summary>Closes the report write's connection.</summary>
    public void Dispose()
    {
        _reportGate.Wait();
        try
        {
            _reportStatements?.Dispose();
            _reportStatements = null;
        }
        finally
        {
            _reportGate.Release();
        }
        _reportGate.Dispose();
    }

    /// <summary>The report write's connection and its prepared statements.</summary>
    private sealed class ReportStatements : IDisposable
    {
        private readonly DbConnection _connection;
        private readonly DbCommand _update;
        private readonly DbCommand _insert;
        private readonly bool _prepare;
        private readonly OutboxRepository _outbox;

        public ReportStatements(DbConnection connection, OutboxRepository outbox, bool prepare = true)
        {
            _outbox = outbox;
            _connection = connection;
            _prepare = prepare;
            // A newly applied revision starts the drift count again.
            _update = Command("""
                UPDATE nodes SET
                    drift_corrected = CASE WHEN applied_revision <> @applied THEN 0 ELSE drift_corrected END + @drift,
                    applied_revision = @applied, last_report_json = @report, last_report_ms = @now, last_seen_ms = @now,
                    outcome_report_json = COALESCE(@outcome, outcome_report_json)
                WHERE name = @node
                """, ("@node", DbType.String), ("@applied", DbType.Int64), ("@report", DbType.String), ("@now", DbType.Int64), ("@drift", DbType.Int64),
                ("@outcome", DbType.String));
            _insert = Command(EventRepository.InsertEventSql, ("@at", DbType.Int64), ("@kind", DbType.String), ("@actor", DbType.String), ("@node", DbType.String),
                ("@revision", DbType.Int64), ("@summary", DbType.String), ("@details", DbType.String));
        }

        /// <summary>Writes <paramref name="reports"/> in one transaction; the events stored for each, in order.</summary>
        public async Task<List<List<EventRecord>>> WriteAsync(IReadOnlyList<PendingReport> reports, long now, CancellationToken cancellationToken)
        {
            await using var transaction = await _connection.BeginTransactionAsync(cancellationToken);
            _update.Transaction = transaction;
            _insert.Transaction = transaction;
            var written = new List<List<EventRecord>>(reports.Count);
            foreach (var report in reports)
            {
                _update.Parameters["@node"].Value = report.Node;
                _update.Parameters["@applied"].Value = (long)report.AppliedRevision;
                _update.Parameters["@report"].Value = report.Report;
                _update.Parameters["@now"].Value = now;
                _update.Parameters["@drift"].Value = report.DriftCorrected ? 1L : 0L;
                _update.Parameters["@outcome"].Value = (object?)report.Outcome ?? DBNull.Value;
                if (await _update.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    // Removed meanwhile: its report and events go with it.
                    written.Add([]);
                    continue;
                }
                var appended = new List<EventRecord>(report.Events.Count);
                foreach (var record in report.Events)
                {
                    var stored = EventRepository.Stamped(record);
                    EventRepository.BindEvent(_insert, stored);
                    await _insert.ExecuteNonQueryAsync(cancellationToken);
                    await _outbox.EnqueueAsync(_connection, transaction, stored, cancellationToken);
                    appended.Add(stored);
                }
                written.Add(appended);
            }
            await transaction.CommitAsync(cancellationToken);
            return written;
        }

        private DbCommand Command(string text, params (string Name, DbType Type)[] parameters)
        {
            var command = _connection.CreateCommand();
            command.CommandText = text;
            foreach (var (name, type) in parameters)
            {
                command.Add(name, type);
            }
            if (_prepare)
            {
                command.Prepare();
            }
            return command;
        }

        public void Dispose()
        {
            _update.Dispose();
            _insert.Dispose();
            _connection.Dispose();
        }
    }

    /// <summary>Sets node pins (null: follow the newest revision) in one transaction.</summary>
    public async Task SetPinsAsync(IReadOnlyDictionary<string, ulong?> pins, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await WritePinsAsync(connection, transaction, pins, cancellationToken);
        await store.MarkChangedAsync(connection, transaction, ControllerStore.Topics.Desired, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Sets nodes' desired revisions inside <paramref name="transaction"/>.</summary>
    internal static async Task WriteDesiredRevisionsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyDictionary<string, ulong> revisions, CancellationToken cancellationToken) =>
        await SetPerNodeAsync(connection, transaction, "desired_revision", DbType.Int64, revisions, number => (long)number, cancellationToken);

    internal static async Task WritePinsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyDictionary<string, ulong?> pins, CancellationToken cancellationToken) =>
        await SetPerNodeAsync(connection, transaction, "pinned_revision", DbType.Int64, pins, revision => revision is { } number ? (long)number : DBNull.Value, cancellationToken);

    /// <summary>Every node, by name.</summary>
    public Task<IReadOnlyList<NodeRecord>> ListAsync(CancellationToken cancellationToken = default) => ListAsync(SelectNodes, cancellationToken);

    /// <summary>
    /// Every node, by name, with <see cref="NodeRecord.LastReport"/> and <see cref="NodeRecord.OutcomeReport"/> left null:
    /// for the callers that push or select (an apply to thousands of nodes), which would otherwise read and parse every report.
    /// </summary>
    public Task<IReadOnlyList<NodeRecord>> ListWithoutReportsAsync(CancellationToken cancellationToken = default) => ListAsync(SelectNodesWithoutReports, cancellationToken);

    private async Task<IReadOnlyList<NodeRecord>> ListAsync(string select, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = select + " ORDER BY name";
        return await ReadNodesAsync(command, cancellationToken);
    }

    /// <summary>One node, or null when there is none by that name.</summary>
    public async Task<NodeRecord?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = SelectNodes + " WHERE name = @name";
        command.Add("@name", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadNode(reader) : null;
    }

    /// <summary>Inserts or replaces a node.</summary>
    public async Task UpsertAsync(NodeRecord node, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO nodes (name, labels_json, agent_version, facts_json, first_seen_ms, last_seen_ms, desired_revision, applied_revision, last_report_json)
            VALUES (@name, @labels, @agent, @facts, @first, @last, @desired, @applied, @report)
            ON CONFLICT(name) DO UPDATE SET labels_json = @labels, agent_version = @agent, facts_json = @facts, last_seen_ms = @last,
                desired_revision = @desired, applied_revision = @applied, last_report_json = @report
            """;
        command.Add("@name", node.Name);
        command.Add("@labels", JsonSerializer.Serialize(new Dictionary<string, string>(node.Labels), StoreJsonContext.Default.DictionaryStringString));
        command.Add("@agent", node.AgentVersion);
        command.Add("@facts", FactsJson(node.Facts));
        command.Add("@first", StoreRow.Ms(node.FirstSeen));
        command.Add("@last", StoreRow.Ms(node.LastSeen));
        command.Add("@desired", (long)node.DesiredRevision);
        command.Add("@applied", (long)node.AppliedRevision);
        command.Add("@report", node.LastReport is { } report ? Json(report) : DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The node columns <see cref="ReadNode"/> reads; a stream counts as held only while its controller's lease lives.</summary>
    private string SelectNodes => _selectNodes ??= Select("last_report_json", "outcome_report_json");

    /// <summary>As <see cref="SelectNodes"/>, the two report columns as NULL.</summary>
    private string SelectNodesWithoutReports => _selectNodesWithoutReports ??= Select("NULL AS last_report_json", "NULL AS outcome_report_json");

    private string Select(string lastReport, string outcomeReport) => store.Engine.Render($$"""
        SELECT name, labels_json, agent_version, facts_json, first_seen_ms, last_seen_ms, desired_revision, applied_revision, {{lastReport}}, drift_corrected, last_report_ms, pinned_revision,
            CASE WHEN EXISTS (SELECT 1 FROM leases WHERE leases.name = '{{ControllerStore.ControllerLeasePrefix}}' || nodes.connected_to AND leases.expires_ms >= {now_ms}) THEN connected_to END AS connected_to,
            {{outcomeReport}}
        FROM nodes
        """);

    private string? _selectNodes;
    private string? _selectNodesWithoutReports;

    private static async Task<List<NodeRecord>> ReadNodesAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var nodes = new List<NodeRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            nodes.Add(ReadNode(reader));
        }
        return nodes;
    }

    /// <summary>The node at the reader's current row (the columns of <see cref="SelectNodes"/>).</summary>
    private static NodeRecord ReadNode(DbDataReader reader)
    {
        var row = new StoreRow(reader);
        return new()
        {
            Name = row.Text("name"),
            Labels = JsonSerializer.Deserialize(row.Text("labels_json"), StoreJsonContext.Default.DictionaryStringString) ?? [],
            AgentVersion = row.Text("agent_version"),
            Facts = row.TextOrNull("facts_json") is { } facts ? JsonSerializer.Deserialize(facts, StoreJsonContext.Default.NodeFacts) : null,
            FirstSeen = row.Time("first_seen_ms"),
            LastSeen = row.Time("last_seen_ms"),
            DesiredRevision = (ulong)row.Number("desired_revision"),
            AppliedRevision = (ulong)row.Number("applied_revision"),
            LastReport = row.TextOrNull("last_report_json") is { } last ? JsonSerializer.Deserialize(last, StoreJsonContext.Default.NodeReport) : null,
            DriftCorrected = (int)row.Number("drift_corrected"),
            LastReportAt = row.TimeOrNull("last_report_ms"),
            PinnedRevision = row.NumberOrNull("pinned_revision") is { } pinned ? (ulong)pinned : null,
            ConnectedTo = row.TextOrNull("connected_to"),
            OutcomeReport = row.TextOrNull("outcome_report_json") is { } outcome ? JsonSerializer.Deserialize(outcome, StoreJsonContext.Default.NodeReport) : null,
        };
    }
}
