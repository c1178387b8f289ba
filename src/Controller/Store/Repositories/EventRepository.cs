using System.Data.Common;
using System.Text;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>The event log: appended in the transaction of what it records, read by window, pruned by age and count.</summary>
public sealed class EventRepository(ControllerStore store)
{
    private readonly Lock _eventSignalLock = new();

    private TaskCompletionSource _eventsStored = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Stores one event on its own (for events that change no other state: a refusal, a login, a push).</summary>
    public async Task AddAsync(EventRecord record, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        if (store.Outbox.Router is null)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = InsertEventSql;
            var alone = Stamped(record);
            BindEvent(command, alone);
            await command.ExecuteNonQueryAsync(cancellationToken);
            Stored([alone]);
            return;
        }
        // With notifications on, the event and its notifications commit together.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var stored = await AppendAsync(connection, transaction, record, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        Stored([stored]);
    }

    /// <summary>Raised after a commit that stored events, with them (metrics count them; nothing here may throw).</summary>
    public event Action<IReadOnlyList<EventRecord>>? Added;

    /// <summary>Completes when an event is stored after this call (the caller then reads from its last id).</summary>
    public Task WaitAsync(CancellationToken cancellationToken)
    {
        lock (_eventSignalLock)
        {
            return _eventsStored.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>The largest event id stored (0 when none).</summary>
    public async Task<long> LastIdAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, LastEventIdSql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    internal const string LastEventIdSql = "SELECT COALESCE(MAX(id), 0) FROM events";

    /// <summary>The events <paramref name="query"/> selects, oldest first.</summary>
    public async Task<IReadOnlyList<EventRecord>> ListAsync(EventQuery query, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        var where = new List<string> { "id > @after" };
        command.Add("@after", query.AfterId);
        if (query.Node is { Length: > 0 } node)
        {
            where.Add("node = @node");
            command.Add("@node", node);
        }
        if (query.Actor is { Length: > 0 } actor)
        {
            where.Add("actor = @actor");
            command.Add("@actor", actor);
        }
        if (query.Kind is { Length: > 0 } kind)
        {
            // An area matches its kinds: node -> node.*; the prefix is compared as text, not a LIKE pattern.
            where.Add("(kind = @kind OR substr(kind, 1, length(@kind) + 1) = @kind || '.')");
            command.Add("@kind", kind);
        }
        if (query.Since is { } since)
        {
            where.Add("at_ms >= @since");
            command.Add("@since", since.ToUnixTimeMilliseconds());
        }
        command.CommandText = $"""
            SELECT id, at_ms, kind, actor, node, revision, substr(summary, 1, {ReadSummaryChars}) AS summary, substr(details, 1, {ReadDetailsChars}) AS details FROM events
            WHERE {string.Join(" AND ", where)} ORDER BY id DESC LIMIT @limit
            """;
        command.Add("@limit", Math.Max(1, query.Limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var events = new List<EventRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new StoreRow(reader);
            events.Add(EventBounds.Bound(new EventRecord
            {
                Id = row.Number("id"),
                At = row.Time("at_ms"),
                Kind = row.Text("kind"),
                Actor = row.Text("actor"),
                Node = row.Text("node"),
                Revision = (ulong)row.Number("revision"),
                Summary = row.Text("summary"),
                Details = row.Text("details") is { Length: > 0 } details ? details.Split('\n') : [],
            }));
        }
        events.Reverse();
        return events;
    }

    /// <summary>How many events of each of <paramref name="kinds"/> each node had in each hour since <paramref name="since"/> (hours as Unix hour numbers).</summary>
    public async Task<IReadOnlyList<(long Hour, string Kind, string Node, long Count)>> CountByHourAsync(DateTimeOffset since, IReadOnlyList<string> kinds,
        CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        var names = kinds.Select((kind, i) => { command.Add($"@kind{i}", kind); return $"@kind{i}"; });
        command.CommandText = $"""
            SELECT at_ms / 3600000 AS hour, kind, node, COUNT(*) AS n FROM events
            WHERE at_ms >= @since AND kind IN ({string.Join(", ", names)}) GROUP BY at_ms / 3600000, kind, node
            """;
        command.Add("@since", since.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var counts = new List<(long, string, string, long)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new StoreRow(reader);
            counts.Add((row.Number("hour"), row.Text("kind"), row.Text("node"), row.Number("n")));
        }
        return counts;
    }

    // Rows stored before events were bounded can be megabytes: read no more than a bounded event can hold (and a
    // little more, so EventBounds still sees that they were longer and says so).
    private const int ReadSummaryChars = EventBounds.MaxSummaryChars + 1;

    private const int ReadDetailsChars = (EventBounds.MaxDetails + 1) * (EventBounds.MaxDetailChars + 1);

    /// <summary>
    /// Deletes up to <paramref name="batch"/> of the oldest events stored before <paramref name="before"/>;
    /// returns how many. Small batches keep each write transaction short, so reports are never held up behind a prune.
    /// </summary>
    public async Task<int> PruneAsync(DateTimeOffset before, int batch, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at_ms < @before ORDER BY at_ms LIMIT @batch)";
        command.Add("@before", before.ToUnixTimeMilliseconds());
        command.Add("@batch", batch);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Inserts <paramref name="record"/> inside the caller's transaction, so it commits with the state it describes, with the
    /// notifications it routes to (<see cref="OutboxRepository"/>); returns it with its time.
    /// </summary>
    internal async Task<EventRecord> AppendAsync(DbConnection connection, DbTransaction? transaction, EventRecord record, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = InsertEventSql;
        var stored = Stamped(record);
        BindEvent(command, stored);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await store.Outbox.EnqueueAsync(connection, transaction, stored, cancellationToken);
        return stored;
    }

    /// <summary>The one statement that stores an event, bound by <see cref="BindEvent"/>.</summary>
    internal const string InsertEventSql = """
        INSERT INTO events (at_ms, kind, actor, node, revision, summary, details)
        VALUES (@at, @kind, @actor, @node, @revision, @summary, @details)
        """;

    /// <summary>The record with its time: now, unless the caller gave one.</summary>
    internal static EventRecord Stamped(EventRecord record) => record.At == default ? record with { At = DateTimeOffset.UtcNow } : record;

    /// <summary>Sets an event insert's parameters (adding them the first time), line breaks in the text made spaces.</summary>
    internal static void BindEvent(DbCommand command, EventRecord record)
    {
        command.Set("@at", record.At.ToUnixTimeMilliseconds());
        command.Set("@kind", record.Kind);
        command.Set("@actor", record.Actor);
        command.Set("@node", record.Node);
        command.Set("@revision", (long)record.Revision);
        var bounded = EventBounds.Bound(record);
        command.Set("@summary", OneLine(bounded.Summary));
        command.Set("@details", string.Join('\n', bounded.Details.Select(OneLine)));
    }

    /// <summary>Wakes every <see cref="WaitAsync"/> and tells <see cref="Added"/>; called after the commit that stored <paramref name="records"/>.</summary>
    internal void Stored(IReadOnlyList<EventRecord> records)
    {
        Added?.Invoke(records);
        Signal();
        store.Outbox.Signal();
    }

    /// <summary>Wakes every <see cref="WaitAsync"/> (also when another controller stored events).</summary>
    public void Signal()
    {
        TaskCompletionSource stored;
        lock (_eventSignalLock)
        {
            stored = _eventsStored;
            _eventsStored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        stored.TrySetResult();
    }

    /// <summary>Line breaks would split one detail into two; they become spaces.</summary>
    private static string OneLine(string text)
    {
        if (text.IndexOfAny(['\n', '\r']) < 0)
        {
            return text;
        }
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(c is '\n' or '\r' ? ' ' : c);
        }
        return builder.ToString().TrimEnd();
    }
}
