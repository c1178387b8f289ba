using System.Data.Common;
using Hawser.Controller.Rollouts;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>Rollouts (rows of rollouts and rollout_nodes) and the node pins they set, written together so a restart finds them consistent.</summary>
public sealed class RolloutRepository(ControllerStore store)
{
    /// <summary>
    /// Stores <paramref name="rollout"/> (a new one when its id is 0, which is then assigned) and the
    /// node pins in <paramref name="pins"/> (null: follow the newest revision) and <paramref name="events"/> in one
    /// transaction; of an existing rollout only the node rows that changed are written. An event with no revision gets the
    /// rollout's, and its summary the rollout's id in front. Sets the rollout's <see cref="RolloutRecord.UpdatedAt"/> (and, new, its
    /// <see cref="RolloutRecord.CreatedAt"/>) to the millisecond stored.
    /// With <paramref name="lease"/>, the write is fenced: refused (<see cref="LeaseLostException"/>) unless the lease is still held.
    /// With <paramref name="expectedUpdatedAt"/>, it is refused (<see cref="RolloutChangedException"/>) when the stored rollout changed since it was read.
    /// A new active rollout is refused (<see cref="RolloutActiveException"/>) while another is active, checked under the numbering lock so two
    /// controllers starting one at the same moment cannot both pass.
    /// <paramref name="desiredRevisions"/> are the revisions the pinned nodes' states are numbered by now (what status compares applied with).
    /// </summary>
    public async Task<RolloutRecord> SaveAsync(RolloutRecord rollout, IReadOnlyDictionary<string, ulong?>? pins = null, IReadOnlyList<EventRecord>? events = null,
        StoreLease? lease = null, DateTimeOffset? expectedUpdatedAt = null, IReadOnlyDictionary<string, ulong>? desiredRevisions = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await store.CheckFenceAsync(connection, transaction, lease, cancellationToken);
        if (expectedUpdatedAt is { } expected && rollout.Id != 0)
        {
            using var current = connection.Command(transaction, store.Engine.Render("SELECT updated_ms FROM rollouts WHERE id = @id{for_update}"));
            current.Add("@id", (long)rollout.Id);
            if (await current.ExecuteScalarAsync(cancellationToken) is long stored && stored != expected.ToUnixTimeMilliseconds())
            {
                throw new RolloutChangedException(rollout.Id);
            }
        }
        var isNew = rollout.Id == 0;
        // Never the same millisecond twice for one rollout: a save is refused when updated_ms is not what its reader saw.
        var now = DateTimeOffset.FromUnixTimeMilliseconds(Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), rollout.UpdatedAt.ToUnixTimeMilliseconds() + 1));
        if (isNew)
        {
            await store.LockForNumberingAsync(connection, transaction, "rollouts", cancellationToken);
            if (RolloutWords.IsActive(rollout.State))
            {
                await ThrowIfActiveAsync(connection, transaction, cancellationToken);
            }
            using var next = connection.Command(transaction, "SELECT COALESCE(MAX(id), 0) + 1 FROM rollouts");
            rollout.Id = Convert.ToUInt64(await next.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            rollout.CreatedAt = now;
        }
        rollout.UpdatedAt = now;
        await RolloutRows.WriteAsync(connection, transaction, rollout, isNew, cancellationToken);
        if (pins is not null)
        {
            await NodeRepository.WritePinsAsync(connection, transaction, pins, cancellationToken);
            await NodeRepository.WriteDesiredRevisionsAsync(connection, transaction, desiredRevisions ?? new Dictionary<string, ulong>(), cancellationToken);
            await store.MarkChangedAsync(connection, transaction, ControllerStore.Topics.Desired, cancellationToken);
        }
        await store.MarkChangedAsync(connection, transaction, ControllerStore.Topics.Rollouts, cancellationToken);
        var appended = new List<EventRecord>();
        foreach (var record in events ?? [])
        {
            appended.Add(await store.Events.AppendAsync(connection, transaction, record with
            {
                Revision = record.Revision == 0 ? rollout.Revision : record.Revision,
                Summary = $"rollout {rollout.Id}: {record.Summary}",
            }, cancellationToken));
        }
        await transaction.CommitAsync(cancellationToken);
        if (appended.Count > 0)
        {
            store.Events.Stored(appended);
        }
        return rollout;
    }

    /// <summary>One rollout, or null.</summary>
    public async Task<RolloutRecord?> GetAsync(ulong id, CancellationToken cancellationToken = default) =>
        (await ReadRolloutsAsync("WHERE id = @id", id, cancellationToken)).SingleOrDefault();

    /// <summary>Rollouts, newest first.</summary>
    public async Task<IReadOnlyList<RolloutRecord>> ListAsync(int limit = 100, CancellationToken cancellationToken = default) =>
        await ReadRolloutsAsync($"ORDER BY id DESC LIMIT {limit}", null, cancellationToken);

    /// <summary>The rollout the engine is working on (running, paused or rolling back), or null.</summary>
    public async Task<RolloutRecord?> ActiveAsync(CancellationToken cancellationToken = default) =>
        (await ReadRolloutsAsync(ActiveRolloutClause, null, cancellationToken)).SingleOrDefault();

    /// <summary>Throws <see cref="RolloutActiveException"/> when a rollout is active; the caller holds the rollouts' numbering lock.</summary>
    internal static async Task ThrowIfActiveAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        using var active = connection.Command(transaction, "SELECT id, state FROM rollouts " + ActiveRolloutClause);
        await using var reader = await active.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            throw new RolloutActiveException((ulong)new StoreRow(reader).Number("id"), RolloutWords.RolloutStateOf(new StoreRow(reader).Text("state")));
        }
    }

    private static readonly string ActiveRolloutClause =
        $"WHERE state IN ({string.Join(", ", Enum.GetValues<RolloutState>().Where(RolloutWords.IsActive).Select(state => $"'{RolloutWords.Of(state)}'"))}) ORDER BY id DESC LIMIT 1";

    private async Task<List<RolloutRecord>> ReadRolloutsAsync(string clause, ulong? id, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        // One snapshot for the rollouts and their nodes, so a step stored between the two reads cannot mix.
        await using var transaction = await store.Engine.BeginReadAsync(connection, cancellationToken);
        var rollouts = await RolloutRows.ReadAsync(connection, transaction, clause, id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return rollouts;
    }
}
