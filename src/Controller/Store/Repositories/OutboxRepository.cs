using System.Data.Common;
using System.Globalization;
using Hawser.Controller.Notifications;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>One notification waiting to be sent (or sent, or given up on): a copy of its event for one receiver.</summary>
public sealed record OutboxEntry
{
    /// <summary>The row's id.</summary>
    public required long Id { get; init; }

    /// <summary>The idempotency key the receiver sees: the same on every attempt.</summary>
    public required string Key { get; init; }

    /// <summary>The receiver's name.</summary>
    public required string Receiver { get; init; }

    /// <summary>Receiver, kind and node: repeats within the group window go out as one message.</summary>
    public required string GroupKey { get; init; }

    /// <summary>The event.</summary>
    public required EventRecord Event { get; init; }

    /// <summary>Its severity when it was stored.</summary>
    public required EventSeverity Severity { get; init; }

    /// <summary>Attempts made so far.</summary>
    public required int Attempts { get; init; }
}

/// <summary>What a receiver's deliveries came to, for <c>hawserctl notifications</c>.</summary>
public sealed record ReceiverDeliveries(string Receiver, DateTimeOffset? LastDelivered, long Delivered, long Pending, long Undeliverable, long FailedAttempts, string? LastError);

/// <summary>
/// The notification outbox: a row per event and receiver, written in the transaction that stores the event (so a stored
/// event is never lost to a crash before it was sent), sent by <see cref="NotificationSender"/>, kept a week after.
/// With no <see cref="Router"/> (notifications off) nothing is written and nothing is asked.
/// </summary>
public sealed class OutboxRepository(ControllerStore store)
{
    /// <summary>Routes each stored event to its receivers; null when notifications are off.</summary>
    public NotificationRouter? Router { get; set; }

    /// <summary>Raised after a commit that queued notifications (the sender wakes).</summary>
    public event Action? Queued;

    /// <summary>Queues <paramref name="stored"/> for each receiver a route sends it to, in the caller's transaction; true when it queued any.</summary>
    internal async Task<bool> EnqueueAsync(DbConnection connection, DbTransaction? transaction, EventRecord stored, CancellationToken cancellationToken)
    {
        if (Router is not { } router)
        {
            return false;
        }
        var receivers = await router.ReceiversAsync(stored, LabelsAsync, CountSinceAsync, cancellationToken);
        if (receivers.Count == 0)
        {
            return false;
        }
        using var insert = connection.Command(transaction, """
            INSERT INTO notification_outbox (key, receiver, group_key, at_ms, kind, actor, node, revision, severity, summary, details, state, attempts, next_ms)
            VALUES (@key, @receiver, @group, @at, @kind, @actor, @node, @revision, @severity, @summary, @details, 'pending', 0, @at)
            """);
        var bounded = EventBounds.Bound(stored);
        foreach (var receiver in receivers)
        {
            insert.Set("@key", Guid.NewGuid().ToString("N"));
            insert.Set("@receiver", receiver);
            insert.Set("@group", $"{receiver}\n{stored.Kind}\n{stored.Node}");
            insert.Set("@at", stored.At.ToUnixTimeMilliseconds());
            insert.Set("@kind", stored.Kind);
            insert.Set("@actor", stored.Actor);
            insert.Set("@node", stored.Node);
            insert.Set("@revision", (long)stored.Revision);
            insert.Set("@severity", EventKinds.Severity(stored).ToString().ToLowerInvariant());
            insert.Set("@summary", bounded.Summary);
            insert.Set("@details", string.Join('\n', bounded.Details));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        return true;

        async Task<IReadOnlyDictionary<string, string>> LabelsAsync(string node)
        {
            using var command = connection.Command(transaction, "SELECT labels_json FROM nodes WHERE name = @node");
            command.Add("@node", node);
            return await command.ExecuteScalarAsync(cancellationToken) is string json
                ? System.Text.Json.JsonSerializer.Deserialize(json, StoreJsonContext.Default.DictionaryStringString) ?? []
                : new Dictionary<string, string>();
        }

        async Task<long> CountSinceAsync(DateTimeOffset since)
        {
            using var command = connection.Command(transaction, "SELECT COUNT(*) FROM events WHERE node = @node AND kind = @kind AND at_ms >= @since");
            command.Add("@node", stored.Node);
            command.Add("@kind", stored.Kind);
            command.Add("@since", since.ToUnixTimeMilliseconds());
            // The event being stored is in the table already (same transaction): not counted twice.
            return Math.Max(0, Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) - 1);
        }
    }

    /// <summary>Tells <see cref="Queued"/>; called after the commit.</summary>
    internal void Signal() => Queued?.Invoke();

    /// <summary>Pending notifications due by <paramref name="now"/>, oldest first.</summary>
    public async Task<IReadOnlyList<OutboxEntry>> DueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, """
            SELECT id, key, receiver, group_key, at_ms, kind, actor, node, revision, severity, summary, details, attempts
            FROM notification_outbox WHERE state = 'pending' AND next_ms <= @now ORDER BY id LIMIT @limit
            """);
        command.Add("@now", now.ToUnixTimeMilliseconds());
        command.Add("@limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var due = new List<OutboxEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new StoreRow(reader);
            due.Add(new OutboxEntry
            {
                Id = row.Number("id"), Key = row.Text("key"), Receiver = row.Text("receiver"), GroupKey = row.Text("group_key"),
                Severity = Enum.TryParse<EventSeverity>(row.Text("severity"), ignoreCase: true, out var severity) ? severity : EventSeverity.Info,
                Attempts = (int)row.Number("attempts"),
                Event = new EventRecord
                {
                    At = row.Time("at_ms"), Kind = row.Text("kind"), Actor = row.Text("actor"), Node = row.Text("node"), Revision = (ulong)row.Number("revision"),
                    Summary = row.Text("summary"), Details = row.Text("details") is { Length: > 0 } details ? details.Split('\n') : [],
                },
            });
        }
        return due;
    }

    /// <summary>When the next pending notification is due; null when none is pending.</summary>
    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "SELECT MIN(next_ms) FROM notification_outbox WHERE state = 'pending'");
        return await command.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull
            ? DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(value, CultureInfo.InvariantCulture))
            : null;
    }

    /// <summary>When a message of <paramref name="groupKey"/> was last delivered; null when never.</summary>
    public async Task<DateTimeOffset?> LastDeliveredAsync(string groupKey, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "SELECT MAX(done_ms) FROM notification_outbox WHERE group_key = @group AND state = 'delivered'");
        command.Add("@group", groupKey);
        return await command.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull
            ? DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(value, CultureInfo.InvariantCulture))
            : null;
    }

    /// <summary>Holds <paramref name="ids"/> back until <paramref name="until"/> (a repeat waiting for its group window to end).</summary>
    public Task PostponeAsync(IReadOnlyList<long> ids, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        UpdateAsync(ids, "next_ms = @next", [("@next", until.ToUnixTimeMilliseconds())], null, cancellationToken);

    /// <summary>Marks <paramref name="ids"/> delivered at <paramref name="now"/>.</summary>
    public Task DeliveredAsync(IReadOnlyList<long> ids, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        UpdateAsync(ids, "state = 'delivered', done_ms = @now, attempts = attempts + 1, last_error = NULL", [("@now", now.ToUnixTimeMilliseconds())], null, cancellationToken);

    /// <summary>Records a failed attempt at <paramref name="ids"/>: tried again at <paramref name="next"/>.</summary>
    public Task FailedAsync(IReadOnlyList<long> ids, string error, DateTimeOffset next, CancellationToken cancellationToken = default) =>
        UpdateAsync(ids, "attempts = attempts + 1, next_ms = @next, last_error = @error", [("@next", next.ToUnixTimeMilliseconds()), ("@error", error)], null, cancellationToken);

    /// <summary>Gives up on <paramref name="ids"/> and stores <paramref name="said"/> (the event that says so) in the same transaction.</summary>
    public Task UndeliverableAsync(IReadOnlyList<long> ids, string error, DateTimeOffset now, EventRecord said, CancellationToken cancellationToken = default) =>
        UpdateAsync(ids, "state = 'undeliverable', attempts = attempts + 1, done_ms = @now, last_error = @error",
            [("@now", now.ToUnixTimeMilliseconds()), ("@error", error)], said, cancellationToken);

    private async Task UpdateAsync(IReadOnlyList<long> ids, string set, (string Name, object Value)[] values, EventRecord? said, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return;
        }
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Ids are numbers this repository read: written into the statement, not bound one parameter each.
        using var command = connection.Command(transaction,
            $"UPDATE notification_outbox SET {set} WHERE id IN ({string.Join(',', ids.Select(id => id.ToString(CultureInfo.InvariantCulture)))})");
        foreach (var (name, value) in values)
        {
            command.Add(name, value);
        }
        await command.ExecuteNonQueryAsync(cancellationToken);
        var stored = said is null ? null : await store.Events.AppendAsync(connection, transaction, said, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (stored is not null)
        {
            store.Events.Stored([stored]);
        }
    }

    /// <summary>Each receiver's deliveries (receivers with none are absent).</summary>
    public async Task<IReadOnlyList<ReceiverDeliveries>> DeliveriesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, """
            -- Sums cast: PostgreSQL sums bigints as numeric.
            SELECT receiver,
                MAX(CASE WHEN state = 'delivered' THEN done_ms END) AS last_delivered,
                CAST(SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END) AS BIGINT) AS delivered,
                CAST(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS BIGINT) AS pending,
                CAST(SUM(CASE WHEN state = 'undeliverable' THEN 1 ELSE 0 END) AS BIGINT) AS undeliverable,
                CAST(SUM(CASE WHEN state = 'delivered' THEN attempts - 1 ELSE attempts END) AS BIGINT) AS failed_attempts
            FROM notification_outbox GROUP BY receiver
            """);
        var result = new List<ReceiverDeliveries>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var row = new StoreRow(reader);
                result.Add(new ReceiverDeliveries(row.Text("receiver"), row.TimeOrNull("last_delivered"), row.Number("delivered"), row.Number("pending"),
                    row.Number("undeliverable"), row.Number("failed_attempts"), null));
            }
        }
        // The newest error each receiver met, from its most recent failed attempt.
        for (var i = 0; i < result.Count; i++)
        {
            using var last = connection.Command(null,
                "SELECT last_error FROM notification_outbox WHERE receiver = @receiver AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1");
            last.Add("@receiver", result[i].Receiver);
            result[i] = result[i] with { LastError = await last.ExecuteScalarAsync(cancellationToken) as string };
        }
        return result;
    }

    /// <summary>Deletes up to <paramref name="batch"/> notifications sent or given up on before <paramref name="before"/>; returns how many.</summary>
    public async Task<int> PruneAsync(DateTimeOffset before, int batch, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null,
            "DELETE FROM notification_outbox WHERE id IN (SELECT id FROM notification_outbox WHERE state <> 'pending' AND done_ms < @before ORDER BY id LIMIT @batch)");
        command.Add("@before", before.ToUnixTimeMilliseconds());
        command.Add("@batch", batch);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
