using System.Globalization;
using Google.Protobuf;
using Hawser.Shared.Protocol.V1;
using System.Data;
using System.Data.Common;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

/// <summary>Rollouts and the node pins they set, written together so a restart finds them consistent.</summary>
public sealed partial class ControllerStore
{
    /// <summary>Rollout states in which the engine still acts.</summary>
    public static readonly IReadOnlySet<string> ActiveRolloutStates = new HashSet<string>(StringComparer.Ordinal) { "running", "paused", "rolling-back" };

    /// <summary>
    /// Stores <paramref name="rollout"/> (a new one when its id is 0, which is then assigned) and the
    /// node pins in <paramref name="pins"/> (null: follow the newest revision) and <paramref name="events"/> in one
    /// transaction. An event with no revision gets the rollout's, and its summary the rollout's id in front.
    /// With <paramref name="lease"/>, the write is fenced: refused (<see cref="LeaseLostException"/>) unless the lease is still held.
    /// With <paramref name="expectedUpdatedAt"/>, it is refused (<see cref="RolloutChangedException"/>) when the stored rollout changed since it was read.
    /// A new active rollout is refused (<see cref="RolloutActiveException"/>) while another is active, checked under the numbering lock so two
    /// controllers starting one at the same moment cannot both pass.
    /// </summary>
    public async Task<Rollout> SaveRolloutAsync(Rollout rollout, IReadOnlyDictionary<string, ulong?>? pins = null, IReadOnlyList<EventRecord>? events = null,
        StoreLease? lease = null, Google.Protobuf.WellKnownTypes.Timestamp? expectedUpdatedAt = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await CheckFenceAsync(connection, transaction, lease, cancellationToken);
        if (expectedUpdatedAt is not null && rollout.Id != 0)
        {
            using var current = connection.Command(transaction, _engine.Render("SELECT document FROM rollouts WHERE id = @id{for_update}"));
            current.Add("@id", (long)rollout.Id);
            if (await current.ExecuteScalarAsync(cancellationToken) is byte[] stored && !Equals(Rollout.Parser.ParseFrom(stored).UpdatedAt, expectedUpdatedAt))
            {
                throw new RolloutChangedException(rollout.Id);
            }
        }
        var now = DateTimeOffset.UtcNow;
        rollout.UpdatedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now);
        if (rollout.Id == 0)
        {
            using var next = connection.CreateCommand();
            next.Transaction = transaction;
            await LockForNumberingAsync(connection, transaction, "rollouts", cancellationToken);
            if (ActiveRolloutStates.Contains(rollout.State))
            {
                await ThrowIfRolloutActiveAsync(connection, transaction, cancellationToken);
            }
            next.CommandText = "SELECT COALESCE(MAX(id), 0) + 1 FROM rollouts";
            rollout.Id = Convert.ToUInt64(await next.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            rollout.CreatedAt = rollout.UpdatedAt;
        }
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO rollouts (id, state, document, created_at, updated_at) VALUES (@id, @state, @document, @now, @now)
                ON CONFLICT(id) DO UPDATE SET state = @state, document = @document, updated_at = @now
                """;
            command.Add("@id", (long)rollout.Id);
            command.Add("@state", rollout.State);
            command.Add("@document", rollout.ToByteArray());
            command.Add("@now", now.ToString("O", CultureInfo.InvariantCulture));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        if (pins is not null)
        {
            await WritePinsAsync(connection, transaction, pins, cancellationToken);
            await MarkChangedAsync(connection, transaction, Topics.Desired, cancellationToken);
        }
        await MarkChangedAsync(connection, transaction, Topics.Rollouts, cancellationToken);
        var appended = new List<EventRecord>();
        foreach (var record in events ?? [])
        {
            appended.Add(await AppendEventAsync(connection, transaction, record with
            {
                Revision = record.Revision == 0 ? rollout.Revision : record.Revision,
                Summary = $"rollout {rollout.Id}: {record.Summary}",
            }, cancellationToken));
        }
        await transaction.CommitAsync(cancellationToken);
        if (appended.Count > 0)
        {
            EventsStored(appended);
        }
        return rollout;
    }

    /// <summary>Sets node pins (null: follow the newest revision) in one transaction.</summary>
    public async Task SetPinsAsync(IReadOnlyDictionary<string, ulong?> pins, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await WritePinsAsync(connection, transaction, pins, cancellationToken);
        await MarkChangedAsync(connection, transaction, Topics.Desired, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>One rollout, or null.</summary>
    public async Task<Rollout?> GetRolloutAsync(ulong id, CancellationToken cancellationToken = default) => (await ReadRolloutsAsync("WHERE id = @id", id, cancellationToken)).SingleOrDefault();

    /// <summary>Rollouts, newest first.</summary>
    public async Task<IReadOnlyList<Rollout>> ListRolloutsAsync(int limit = 100, CancellationToken cancellationToken = default) => await ReadRolloutsAsync($"ORDER BY id DESC LIMIT {limit}", null, cancellationToken);

    /// <summary>The rollout the engine is working on (running, paused or rolling back), or null.</summary>
    public async Task<Rollout?> ActiveRolloutAsync(CancellationToken cancellationToken = default) => (await ReadRolloutsAsync(ActiveRolloutClause, null, cancellationToken)).SingleOrDefault();

    /// <summary>Throws <see cref="RolloutActiveException"/> when a rollout is active; the caller holds the rollouts' numbering lock.</summary>
    private static async Task ThrowIfRolloutActiveAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        using var active = connection.Command(transaction, "SELECT document FROM rollouts " + ActiveRolloutClause);
        if (await active.ExecuteScalarAsync(cancellationToken) is byte[] document)
        {
            throw new RolloutActiveException(Rollout.Parser.ParseFrom(document));
        }
    }

    private static readonly string ActiveRolloutClause =
        $"WHERE state IN ({string.Join(", ", ActiveRolloutStates.Select(state => $"'{state}'"))}) ORDER BY id DESC LIMIT 1";

    private static async Task WritePinsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyDictionary<string, ulong?> pins, CancellationToken cancellationToken) =>
        await SetPerNodeAsync(connection, transaction, "pinned_revision", DbType.Int64, pins, revision => revision is { } number ? (long)number : DBNull.Value, cancellationToken);

    private async Task<List<Rollout>> ReadRolloutsAsync(string clause, ulong? id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT document FROM rollouts " + clause;
        if (id is { } value)
        {
            command.Add("@id", (long)value);
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rollouts = new List<Rollout>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rollouts.Add(Rollout.Parser.ParseFrom((byte[])reader[0]));
        }
        return rollouts;
    }
}

/// <summary>A rollout cannot start while <paramref name="active"/> is running, paused or rolling back.</summary>
public sealed class RolloutActiveException(Rollout active)
    : Exception($"rollout {active.Id} is {active.State}; abort it (or let it finish) before starting another")
{
    /// <summary>The active rollout.</summary>
    public Rollout Active { get; } = active;
}

/// <summary>The rollout was changed (by an operator, or another controller) after it was read; read it again.</summary>
public sealed class RolloutChangedException(ulong id) : Exception($"rollout {id} changed meanwhile");
