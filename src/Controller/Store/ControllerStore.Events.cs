using System.Text;
using System.Data.Common;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

/// <summary>One entry of the event log: what happened, when, who caused it, and the lines that say what changed.</summary>
public sealed record EventRecord
{
    /// <summary>Increasing in the order events were stored; 0 for one not stored yet.</summary>
    public long Id { get; init; }

    /// <summary>When, UTC, millisecond precision.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>What kind: area.verb, e.g. <c>spec.applied</c>, <c>node.failed</c>, <c>web.login-refused</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>Who caused it: an admin certificate's subject, <c>web:LOGIN</c>, <c>node:NAME</c>, or <c>controller</c>.</summary>
    public required string Actor { get; init; }

    /// <summary>The node it is about; empty when none.</summary>
    public string Node { get; init; } = "";

    /// <summary>The revision it is about; 0 when none.</summary>
    public ulong Revision { get; init; }

    /// <summary>One line.</summary>
    public required string Summary { get; init; }

    /// <summary>One line each: resource changes (<c>target: from -&gt; to</c>), errors.</summary>
    public IReadOnlyList<string> Details { get; init; } = [];
}

/// <summary>Which events to read.</summary>
public sealed record EventQuery
{
    /// <summary>Only this node's events; null for all.</summary>
    public string? Node { get; init; }

    /// <summary>An exact kind, or the area before its dot (<c>node</c> matches <c>node.failed</c>); null for all.</summary>
    public string? Kind { get; init; }

    /// <summary>Only events at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only events with a larger id.</summary>
    public long AfterId { get; init; }

    /// <summary>The newest this many (returned oldest first).</summary>
    public int Limit { get; init; } = 200;
}

/// <summary>The event log (table <c>events</c>).</summary>
public sealed partial class ControllerStore
{
    private readonly Lock _eventSignalLock = new();
    private TaskCompletionSource _eventsStored = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Stores one event on its own (for events that change no other state: a refusal, a login, a push).</summary>
    public async Task AddEventAsync(EventRecord record, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = InsertEventSql;
        var stored = Stamped(record);
        BindEvent(command, stored);
        await command.ExecuteNonQueryAsync(cancellationToken);
        EventsStored([stored]);
    }

    /// <summary>Raised after a commit that stored events, with them (metrics count them; nothing here may throw).</summary>
    public event Action<IReadOnlyList<EventRecord>>? EventsAdded;

    /// <summary>Completes when an event is stored after this call (the caller then reads from its last id).</summary>
    public Task WaitForEventsAsync(CancellationToken cancellationToken)
    {
        lock (_eventSignalLock)
        {
            return _eventsStored.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>The largest event id stored (0 when none).</summary>
    public async Task<long> LastEventIdAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, LastEventIdSql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    private const string LastEventIdSql = "SELECT COALESCE(MAX(id), 0) FROM events";

    /// <summary>The events <paramref name="query"/> selects, oldest first.</summary>
    public async Task<IReadOnlyList<EventRecord>> ListEventsAsync(EventQuery query, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        var where = new List<string> { "id > @after" };
        command.Add("@after", query.AfterId);
        if (query.Node is { Length: > 0 } node)
        {
            where.Add("node = @node");
            command.Add("@node", node);
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
            SELECT id, at_ms, kind, actor, node, revision, substr(summary, 1, {ReadSummaryChars}), substr(details, 1, {ReadDetailsChars}) FROM events
            WHERE {string.Join(" AND ", where)} ORDER BY id DESC LIMIT @limit
            """;
        command.Add("@limit", Math.Max(1, query.Limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var events = new List<EventRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(EventBounds.Bound(new EventRecord
            {
                Id = reader.GetInt64(0),
                At = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                Kind = reader.GetString(2),
                Actor = reader.GetString(3),
                Node = reader.GetString(4),
                Revision = (ulong)reader.GetInt64(5),
                Summary = reader.GetString(6),
                Details = reader.GetString(7) is { Length: > 0 } details ? details.Split('\n') : [],
            }));
        }
        events.Reverse();
        return events;
    }

    // Rows stored before events were bounded can be megabytes: read no more than a bounded event can hold (and a
    // little more, so EventBounds still sees that they were longer and says so).
    private const int ReadSummaryChars = EventBounds.MaxSummaryChars + 1;
    private const int ReadDetailsChars = (EventBounds.MaxDetails + 1) * (EventBounds.MaxDetailChars + 1);

    /// <summary>
    /// Deletes up to <paramref name="batch"/> of the oldest events stored before <paramref name="before"/>;
    /// returns how many. Small batches keep each write transaction short, so reports are never held up behind a prune.
    /// </summary>
    public async Task<int> PruneEventsAsync(DateTimeOffset before, int batch, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at_ms < @before ORDER BY at_ms LIMIT @batch)";
        command.Add("@before", before.ToUnixTimeMilliseconds());
        command.Add("@batch", batch);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Inserts <paramref name="record"/> inside the caller's transaction, so it commits with the state it describes; returns it with its time.</summary>
    private static async Task<EventRecord> AppendEventAsync(DbConnection connection, DbTransaction? transaction, EventRecord record, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = InsertEventSql;
        var stored = Stamped(record);
        BindEvent(command, stored);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return stored;
    }

    /// <summary>The one statement that stores an event, bound by <see cref="BindEvent"/>.</summary>
    private const string InsertEventSql = """
        INSERT INTO events (at_ms, kind, actor, node, revision, summary, details)
        VALUES (@at, @kind, @actor, @node, @revision, @summary, @details)
        """;

    /// <summary>The record with its time: now, unless the caller gave one.</summary>
    private static EventRecord Stamped(EventRecord record) => record.At == default ? record with { At = DateTimeOffset.UtcNow } : record;

    /// <summary>Sets an event insert's parameters (adding them the first time), line breaks in the text made spaces.</summary>
    private static void BindEvent(DbCommand command, EventRecord record)
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

    /// <summary>Wakes every <see cref="WaitForEventsAsync"/> and tells <see cref="EventsAdded"/>; called after the commit that stored <paramref name="records"/>.</summary>
    private void EventsStored(IReadOnlyList<EventRecord> records)
    {
        EventsAdded?.Invoke(records);
        SignalEvents();
    }

    /// <summary>Wakes every <see cref="WaitForEventsAsync"/> (also when another controller stored events).</summary>
    public void SignalEvents()
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
