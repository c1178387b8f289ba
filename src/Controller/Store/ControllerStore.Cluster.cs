using System.Data.Common;
using System.Globalization;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

/// <summary>A lease one controller holds on a job: its name, the holder, and the term that fences its writes.</summary>
public sealed record StoreLease(string Name, string Holder, long Term);

/// <summary>A write was refused because the lease that allowed it was lost (expired and taken, or released).</summary>
public sealed class LeaseLostException(StoreLease lease) : Exception($"lease {lease.Name} (term {lease.Term}) is no longer held by {lease.Holder}")
{
    /// <summary>The lease that was lost.</summary>
    public StoreLease Lease { get; } = lease;
}

/// <summary>A message for an agent whose stream another controller holds, relayed through the store.</summary>
public sealed record NodeMessageRecord(long Id, string Node, byte[] Body, string State, byte[]? Reply);

/// <summary>What several controllers on one store coordinate through: change topics, leases, web sessions, the CA, relayed messages.</summary>
public sealed partial class ControllerStore
{
    /// <summary>Change topics: what a controller refreshes when another changed it.</summary>
    public static class Topics
    {
        /// <summary>Revisions, node desired revisions, labels and rollout pins: what each agent should run.</summary>
        public const string Desired = "desired";

        /// <summary>Certificates obtained and the ACME account.</summary>
        public const string Certificates = "certificates";

        /// <summary>Nodes removed.</summary>
        public const string Nodes = "nodes";

        /// <summary>Messages for agents on another controller (and their replies).</summary>
        public const string Messages = "messages";

        /// <summary>Rollouts started, stepped or controlled.</summary>
        public const string Rollouts = "rollouts";
    }

    /// <summary>Counts a change of <paramref name="topic"/> inside the caller's transaction and wakes the other controllers when it commits.</summary>
    private async Task MarkChangedAsync(DbConnection connection, DbTransaction transaction, string topic, CancellationToken cancellationToken)
    {
        using var command = connection.Command(transaction, """
            INSERT INTO store_changes (topic, serial) VALUES (@topic, 1)
            ON CONFLICT(topic) DO UPDATE SET serial = store_changes.serial + 1
            """);
        command.Add("@topic", topic);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await NotifyAsync(connection, transaction, topic, cancellationToken);
    }

    /// <summary>Wakes the other controllers about <paramref name="topic"/> when the transaction commits, without counting it.</summary>
    private async Task NotifyAsync(DbConnection connection, DbTransaction? transaction, string topic, CancellationToken cancellationToken)
    {
        if (_engine.NotifySql is { Length: > 0 } sql)
        {
            using var notify = connection.Command(transaction, sql);
            notify.Add("@topic", topic);
            await notify.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Each topic's change count and the newest event's id: what the polling fallback compares.</summary>
    public async Task<(IReadOnlyDictionary<string, long> Topics, long LastEventId)> ReadChangeMarksAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "SELECT topic, serial FROM store_changes");
        var topics = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                topics[reader.GetString(0)] = reader.GetInt64(1);
            }
        }
        command.CommandText = LastEventIdSql;
        return (topics, Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Takes the lease <paramref name="name"/> for <paramref name="holder"/> for <paramref name="ttl"/> when it is free or
    /// expired (on the database's clock), with a term one past the last; null when another holds it.
    /// </summary>
    public async Task<StoreLease?> TryAcquireLeaseAsync(string name, string holder, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.Command(transaction, _engine.Render("""
            INSERT INTO leases (name, holder, term, expires_ms) VALUES (@name, @holder, 1, {now_ms} + @ttl)
            ON CONFLICT(name) DO UPDATE SET holder = @holder, term = leases.term + 1, expires_ms = {now_ms} + @ttl
                WHERE leases.expires_ms < {now_ms}
            RETURNING term
            """));
        command.Add("@name", name);
        command.Add("@holder", holder);
        command.Add("@ttl", (long)ttl.TotalMilliseconds);
        var term = await command.ExecuteScalarAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return term is null or DBNull ? null : new StoreLease(name, holder, Convert.ToInt64(term, CultureInfo.InvariantCulture));
    }

    /// <summary>Extends a lease still held (same holder and term, not expired) by <paramref name="ttl"/> from now; false when it was lost.</summary>
    public async Task<bool> RenewLeaseAsync(StoreLease lease, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, _engine.Render(
            "UPDATE leases SET expires_ms = {now_ms} + @ttl WHERE name = @name AND holder = @holder AND term = @term AND expires_ms >= {now_ms}"));
        BindLease(command, lease);
        command.Add("@ttl", (long)ttl.TotalMilliseconds);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Gives a lease up at once (another controller may take it without waiting for the expiry).</summary>
    public async Task ReleaseLeaseAsync(StoreLease lease, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "UPDATE leases SET expires_ms = 0 WHERE name = @name AND holder = @holder AND term = @term");
        BindLease(command, lease);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The fence: inside a write's transaction, checks that <paramref name="lease"/> is still held and locks its row
    /// (where the engine can) so it cannot be taken before the write commits; throws <see cref="LeaseLostException"/> when it is not.
    /// </summary>
    private async Task CheckFenceAsync(DbConnection connection, DbTransaction transaction, StoreLease? lease, CancellationToken cancellationToken)
    {
        if (lease is null)
        {
            return;
        }
        using var command = connection.Command(transaction, _engine.Render(
            "SELECT 1 FROM leases WHERE name = @name AND holder = @holder AND term = @term AND expires_ms >= {now_ms}{for_update}"));
        BindLease(command, lease);
        if (await command.ExecuteScalarAsync(cancellationToken) is null)
        {
            throw new LeaseLostException(lease);
        }
    }

    private static void BindLease(DbCommand command, StoreLease lease)
    {
        command.Add("@name", lease.Name);
        command.Add("@holder", lease.Holder);
        command.Add("@term", lease.Term);
    }

    /// <summary>Stores a web session by the hash of its id (the id itself is the bearer secret, kept only by the browser).</summary>
    public async Task SaveWebSessionAsync(string idSha256, string csrf, string who, DateTimeOffset expires, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.Command(transaction, "DELETE FROM web_sessions WHERE expires_ms < @now");
        command.Add("@now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
        command.CommandText = "INSERT INTO web_sessions (id_sha256, csrf, who, expires_ms) VALUES (@id, @csrf, @who, @expires)";
        command.Add("@id", idSha256);
        command.Add("@csrf", csrf);
        command.Add("@who", who);
        command.Add("@expires", expires.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The live session stored under <paramref name="idSha256"/>: its CSRF token, who, and until when; null when none.</summary>
    public async Task<(string Csrf, string Who, DateTimeOffset Expires)?> FindWebSessionAsync(string idSha256, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "SELECT csrf, who, expires_ms FROM web_sessions WHERE id_sha256 = @id AND expires_ms > @now");
        command.Add("@id", idSha256);
        command.Add("@now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))) : null;
    }

    /// <summary>Ends a web session.</summary>
    public async Task DeleteWebSessionAsync(string idSha256, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "DELETE FROM web_sessions WHERE id_sha256 = @id");
        command.Add("@id", idSha256);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Ends every web session logged in as <paramref name="who"/> (all made with one admin token); returns how many.</summary>
    public async Task<int> DeleteWebSessionsOfAsync(string who, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "DELETE FROM web_sessions WHERE who = @who");
        command.Add("@who", who);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Publishes the enrollment CA (its key sealed) unless the store already holds one; returns the one the store
    /// holds afterwards, so every controller of an installation signs with the same CA.
    /// </summary>
    public async Task<(string CertificatePem, byte[] KeySealed)> PublishCaAsync(string certificatePem, byte[] keySealed, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.Command(transaction, "INSERT INTO controller_ca (id, cert_pem, key_sealed) VALUES (1, @cert, @key) ON CONFLICT(id) DO NOTHING");
        command.Add("@cert", certificatePem);
        command.Add("@key", keySealed);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (await StoredCaAsync(cancellationToken))!.Value;
    }

    /// <summary>The CA the store holds, or null when none was published.</summary>
    public async Task<(string CertificatePem, byte[] KeySealed)?> StoredCaAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "SELECT cert_pem, key_sealed FROM controller_ca WHERE id = 1");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetString(0), (byte[])reader[1]) : null;
    }

    /// <summary>Records which controller holds <paramref name="node"/>'s stream (null: none), for messages relayed to it; with <paramref name="onlyIf"/>, only while that one holds it.</summary>
    public async Task SetConnectedToAsync(string node, string? controller, string? onlyIf = null)
    {
        await using var connection = await OpenConnectionAsync();
        await using var command = connection.Command(null, onlyIf is null
            ? "UPDATE nodes SET connected_to = @controller WHERE name = @node"
            : "UPDATE nodes SET connected_to = @controller WHERE name = @node AND connected_to = @previous");
        command.Add("@controller", controller);
        command.Add("@node", node);
        if (onlyIf is not null)
        {
            command.Add("@previous", onlyIf);
        }
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The controller holding each of <paramref name="nodes"/>' streams, by node (absent: none).</summary>
    public async Task<IReadOnlyDictionary<string, string>> ConnectedToAsync(IEnumerable<string> nodes, CancellationToken cancellationToken = default)
    {
        var wanted = nodes.ToHashSet(StringComparer.Ordinal);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "SELECT name, connected_to FROM nodes WHERE connected_to IS NOT NULL");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (wanted.Contains(reader.GetString(0)))
            {
                result[reader.GetString(0)] = reader.GetString(1);
            }
        }
        return result;
    }

    /// <summary>Queues a message for each node (by the controller <paramref name="origin"/>) and wakes the others; returns the ids by node.</summary>
    public async Task<IReadOnlyDictionary<string, long>> EnqueueNodeMessagesAsync(string origin, IReadOnlyDictionary<string, byte[]> bodies, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.Command(transaction,
            "INSERT INTO node_messages (node, origin, body, created_ms, state) VALUES (@node, @origin, @body, @now, 'pending') RETURNING id");
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (node, body) in bodies)
        {
            command.Set("@node", node);
            command.Set("@origin", origin);
            command.Set("@body", body);
            command.Set("@now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            ids[node] = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }
        // Relayed messages are old after a minute whatever became of them.
        command.Parameters.Clear();
        command.CommandText = "DELETE FROM node_messages WHERE created_ms < @old";
        command.Add("@old", DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
        await NotifyAsync(connection, transaction, Topics.Messages, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return ids;
    }

    /// <summary>Claims the pending messages for <paramref name="nodes"/> (this controller's streams): each is handed to one controller only.</summary>
    public async Task<IReadOnlyList<NodeMessageRecord>> ClaimNodeMessagesAsync(IReadOnlyCollection<string> nodes, CancellationToken cancellationToken = default)
    {
        if (nodes.Count == 0)
        {
            return [];
        }
        var wanted = nodes.ToHashSet(StringComparer.Ordinal);
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var pending = new List<NodeMessageRecord>();
        using (var select = connection.Command(null, "SELECT id, node, body FROM node_messages WHERE state = 'pending' ORDER BY id"))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (wanted.Contains(reader.GetString(1)))
                {
                    pending.Add(new NodeMessageRecord(reader.GetInt64(0), reader.GetString(1), (byte[])reader[2], "pending", null));
                }
            }
        }
        var claimed = new List<NodeMessageRecord>();
        using var claim = connection.Command(null, "UPDATE node_messages SET state = 'sent' WHERE id = @id AND state = 'pending'");
        foreach (var message in pending)
        {
            claim.Set("@id", message.Id);
            if (await claim.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                claimed.Add(message with { State = "sent" });
            }
        }
        return claimed;
    }

    /// <summary>Stores the outcome of a relayed message (<c>done</c> with the agent's reply, or <c>failed</c> with why) and wakes its origin.</summary>
    public async Task CompleteNodeMessageAsync(long id, string state, byte[] reply, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.Command(transaction, "UPDATE node_messages SET state = @state, reply = @reply WHERE id = @id");
        command.Add("@state", state);
        command.Add("@reply", reply);
        command.Add("@id", id);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await NotifyAsync(connection, transaction, Topics.Messages, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The relayed messages <paramref name="ids"/> as they stand.</summary>
    public async Task<IReadOnlyList<NodeMessageRecord>> ReadNodeMessagesAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default)
    {
        var wanted = ids.ToHashSet();
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "SELECT id, node, body, state, reply FROM node_messages WHERE id >= @min ORDER BY id");
        command.Add("@min", ids.Count == 0 ? long.MaxValue : ids.Min());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new List<NodeMessageRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            if (wanted.Contains(reader.GetInt64(0)))
            {
                result.Add(new NodeMessageRecord(reader.GetInt64(0), reader.GetString(1), (byte[])reader[2], reader.GetString(3), reader.IsDBNull(4) ? null : (byte[])reader[4]));
            }
        }
        return result;
    }
}
