using System.Data.Common;
using System.Globalization;
using Hawser.Controller.Store.Engines;
using Hawser.Controller.Store.Repositories;

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
    internal async Task MarkChangedAsync(DbConnection connection, DbTransaction transaction, string topic, CancellationToken cancellationToken)
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
    internal async Task NotifyAsync(DbConnection connection, DbTransaction? transaction, string topic, CancellationToken cancellationToken)
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
                var row = new StoreRow(reader);
                topics[row.Text("topic")] = row.Number("serial");
            }
        }
        command.CommandText = EventRepository.LastEventIdSql;
        return (topics, Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The fence: inside a write's transaction, checks that <paramref name="lease"/> is still held and locks its row
    /// (where the engine can) so it cannot be taken before the write commits; throws <see cref="LeaseLostException"/> when it is not.
    /// </summary>
    internal async Task CheckFenceAsync(DbConnection connection, DbTransaction transaction, StoreLease? lease, CancellationToken cancellationToken)
    {
        if (lease is null)
        {
            return;
        }
        using var command = connection.Command(transaction, _engine.Render(
            "SELECT 1 FROM leases WHERE name = @name AND holder = @holder AND term = @term AND expires_ms >= {now_ms}{for_update}"));
        LeaseRepository.BindLease(command, lease);
        if (await command.ExecuteScalarAsync(cancellationToken) is null)
        {
            throw new LeaseLostException(lease);
        }
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
        return await reader.ReadAsync(cancellationToken) && new StoreRow(reader) is var row ? (row.Text("cert_pem"), row.BytesOrNull("key_sealed")!) : null;
    }

    /// <summary>Keeps other controllers from numbering a row of <paramref name="table"/> until <paramref name="transaction"/> ends.</summary>
    internal async Task LockForNumberingAsync(DbConnection connection, DbTransaction transaction, string table, CancellationToken cancellationToken)
    {
        if (_engine.LockForNumberingSql(table) is { Length: > 0 } sql)
        {
            using var command = connection.Command(transaction, sql);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
