using System.Data;
using System.Data.Common;
using System.Text.Json;
using Hawser.Controller.Rollouts;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

/// <summary>Rollouts (rows of <c>rollouts</c> and <c>rollout_nodes</c>) and the node pins they set, written together so a restart finds them consistent.</summary>
public sealed partial class ControllerStore
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
    /// </summary>
    public async Task<RolloutRecord> SaveRolloutAsync(RolloutRecord rollout, IReadOnlyDictionary<string, ulong?>? pins = null, IReadOnlyList<EventRecord>? events = null,
        StoreLease? lease = null, DateTimeOffset? expectedUpdatedAt = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await CheckFenceAsync(connection, transaction, lease, cancellationToken);
        if (expectedUpdatedAt is { } expected && rollout.Id != 0)
        {
            using var current = connection.Command(transaction, _engine.Render("SELECT updated_ms FROM rollouts WHERE id = @id{for_update}"));
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
            await LockForNumberingAsync(connection, transaction, "rollouts", cancellationToken);
            if (RolloutWords.IsActive(rollout.State))
            {
                await ThrowIfRolloutActiveAsync(connection, transaction, cancellationToken);
            }
            using var next = connection.Command(transaction, "SELECT COALESCE(MAX(id), 0) + 1 FROM rollouts");
            rollout.Id = Convert.ToUInt64(await next.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            rollout.CreatedAt = now;
        }
        rollout.UpdatedAt = now;
        await RolloutRows.WriteAsync(connection, transaction, rollout, isNew, cancellationToken);
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
    public async Task<RolloutRecord?> GetRolloutAsync(ulong id, CancellationToken cancellationToken = default) =>
        (await ReadRolloutsAsync("WHERE id = @id", id, cancellationToken)).SingleOrDefault();

    /// <summary>Rollouts, newest first.</summary>
    public async Task<IReadOnlyList<RolloutRecord>> ListRolloutsAsync(int limit = 100, CancellationToken cancellationToken = default) =>
        await ReadRolloutsAsync($"ORDER BY id DESC LIMIT {limit}", null, cancellationToken);

    /// <summary>The rollout the engine is working on (running, paused or rolling back), or null.</summary>
    public async Task<RolloutRecord?> ActiveRolloutAsync(CancellationToken cancellationToken = default) =>
        (await ReadRolloutsAsync(ActiveRolloutClause, null, cancellationToken)).SingleOrDefault();

    /// <summary>Throws <see cref="RolloutActiveException"/> when a rollout is active; the caller holds the rollouts' numbering lock.</summary>
    private static async Task ThrowIfRolloutActiveAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
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

    private static async Task WritePinsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyDictionary<string, ulong?> pins, CancellationToken cancellationToken) =>
        await SetPerNodeAsync(connection, transaction, "pinned_revision", DbType.Int64, pins, revision => revision is { } number ? (long)number : DBNull.Value, cancellationToken);

    private async Task<List<RolloutRecord>> ReadRolloutsAsync(string clause, ulong? id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        // One snapshot for the rollouts and their nodes, so a step stored between the two reads cannot mix.
        await using var transaction = await _engine.BeginReadAsync(connection, cancellationToken);
        var rollouts = await RolloutRows.ReadAsync(connection, transaction, clause, id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return rollouts;
    }
}

/// <summary>A rollout's rows: one in <c>rollouts</c>, one per node in <c>rollout_nodes</c> (by position, the order of its batches), mapped by column name.</summary>
internal static class RolloutRows
{
    /// <summary>Writes <paramref name="rollout"/>'s row and its node rows (all when <paramref name="isNew"/>, else those that differ from what is stored).</summary>
    public static async Task WriteAsync(DbConnection connection, DbTransaction transaction, RolloutRecord rollout, bool isNew, CancellationToken cancellationToken)
    {
        using (var command = connection.Command(transaction, """
            INSERT INTO rollouts (id, revision, state, reason, settings_json, batch, batches, promoted, accepted_failures, next_batch_ms, created_ms, updated_ms)
            VALUES (@id, @revision, @state, @reason, @settings, @batch, @batches, @promoted, @accepted, @next, @created, @updated)
            ON CONFLICT(id) DO UPDATE SET state = @state, reason = @reason, batch = @batch, promoted = @promoted, accepted_failures = @accepted,
                next_batch_ms = @next, updated_ms = @updated
            """))
        {
            command.Add("@id", (long)rollout.Id);
            command.Add("@revision", (long)rollout.Revision);
            command.Add("@state", RolloutWords.Of(rollout.State));
            command.Add("@reason", rollout.Reason);
            command.Add("@settings", JsonSerializer.Serialize(rollout.Settings, StoreJsonContext.Default.RolloutSettings));
            command.Add("@batch", (long)rollout.Batch);
            command.Add("@batches", (long)rollout.Batches);
            command.Add("@promoted", rollout.Promoted ? 1L : 0L);
            command.Add("@accepted", (long)rollout.AcceptedFailures);
            command.Add("@next", Ms(rollout.NextBatchAt) is { } next ? next : DBNull.Value);
            command.Add("@created", rollout.CreatedAt.ToUnixTimeMilliseconds());
            command.Add("@updated", rollout.UpdatedAt.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        var stored = isNew ? [] : await ReadNodesAsync(connection, transaction, [(long)rollout.Id], cancellationToken);
        var known = stored.GetValueOrDefault((long)rollout.Id) ?? [];
        using var write = connection.Command(transaction, """
            INSERT INTO rollout_nodes (rollout_id, position, node, batch, state, detail, failure, previous_revision, moved_ms, healthy_since_ms, unchanged)
            VALUES (@rollout, @position, @node, @batch, @state, @detail, @failure, @previous, @moved, @healthy, @unchanged)
            ON CONFLICT(rollout_id, position) DO UPDATE SET state = @state, detail = @detail, failure = @failure, moved_ms = @moved,
                healthy_since_ms = @healthy, unchanged = @unchanged
            """);
        var parameters = NodeParameters.Select(name => write.Add(name, null)).ToArray();
        for (var position = 0; position < rollout.Nodes.Count; position++)
        {
            var node = rollout.Nodes[position];
            if (position < known.Count && known[position].Equals(Truncated(node)))
            {
                continue;
            }
            object?[] values = [(long)rollout.Id, (long)position, node.Node, (long)node.Batch, RolloutWords.Of(node.State), node.Detail, node.Failure,
                (long)node.PreviousRevision, Ms(node.MovedAt), Ms(node.HealthySince), node.Unchanged ? 1L : 0L];
            for (var i = 0; i < values.Length; i++)
            {
                parameters[i].Value = values[i] ?? DBNull.Value;
            }
            await write.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static readonly string[] NodeParameters = ["@rollout", "@position", "@node", "@batch", "@state", "@detail", "@failure", "@previous", "@moved", "@healthy", "@unchanged"];

    /// <summary>The rollouts the clause selects (<c>@id</c> bound when given), each with its nodes.</summary>
    public static async Task<List<RolloutRecord>> ReadAsync(DbConnection connection, DbTransaction transaction, string clause, ulong? id, CancellationToken cancellationToken)
    {
        var rollouts = new List<RolloutRecord>();
        using (var command = connection.Command(transaction, "SELECT * FROM rollouts " + clause))
        {
            if (id is { } value)
            {
                command.Add("@id", (long)value);
            }
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var row = new StoreRow(reader);
                rollouts.Add(new RolloutRecord
                {
                    Id = (ulong)row.Number("id"),
                    Revision = (ulong)row.Number("revision"),
                    State = RolloutWords.RolloutStateOf(row.Text("state")),
                    Reason = row.Text("reason"),
                    Settings = JsonSerializer.Deserialize(row.Text("settings_json"), StoreJsonContext.Default.RolloutSettings) ?? new RolloutSettings(),
                    Batch = (uint)row.Number("batch"),
                    Batches = (uint)row.Number("batches"),
                    Promoted = row.Flag("promoted"),
                    AcceptedFailures = (uint)row.Number("accepted_failures"),
                    NextBatchAt = row.TimeOrNull("next_batch_ms"),
                    CreatedAt = row.Time("created_ms"),
                    UpdatedAt = row.Time("updated_ms"),
                    Nodes = [],
                });
            }
        }
        if (rollouts.Count > 0)
        {
            var nodes = await ReadNodesAsync(connection, transaction, [.. rollouts.Select(r => (long)r.Id)], cancellationToken);
            foreach (var rollout in rollouts)
            {
                rollout.Nodes.AddRange(nodes.GetValueOrDefault((long)rollout.Id) ?? []);
            }
        }
        return rollouts;
    }

    private static async Task<Dictionary<long, List<RolloutNodeRecord>>> ReadNodesAsync(DbConnection connection, DbTransaction transaction, long[] ids, CancellationToken cancellationToken)
    {
        using var command = connection.Command(transaction,
            $"SELECT * FROM rollout_nodes WHERE rollout_id IN ({string.Join(", ", ids.Select((_, i) => $"@r{i}"))}) ORDER BY rollout_id, position");
        for (var i = 0; i < ids.Length; i++)
        {
            command.Add($"@r{i}", ids[i]);
        }
        var nodes = new Dictionary<long, List<RolloutNodeRecord>>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new StoreRow(reader);
            var rollout = row.Number("rollout_id");
            if (!nodes.TryGetValue(rollout, out var list))
            {
                nodes[rollout] = list = [];
            }
            list.Add(new RolloutNodeRecord
            {
                Node = row.Text("node"),
                Batch = (uint)row.Number("batch"),
                State = RolloutWords.NodeStateOf(row.Text("state")),
                Detail = row.Text("detail"),
                Failure = row.Text("failure"),
                PreviousRevision = (ulong)row.Number("previous_revision"),
                MovedAt = row.TimeOrNull("moved_ms"),
                HealthySince = row.TimeOrNull("healthy_since_ms"),
                Unchanged = row.Flag("unchanged"),
            });
        }
        return nodes;
    }

    /// <summary>The node as it reads back: its times to the millisecond.</summary>
    private static RolloutNodeRecord Truncated(RolloutNodeRecord node) => node with
    {
        MovedAt = node.MovedAt is { } moved ? DateTimeOffset.FromUnixTimeMilliseconds(moved.ToUnixTimeMilliseconds()) : null,
        HealthySince = node.HealthySince is { } healthy ? DateTimeOffset.FromUnixTimeMilliseconds(healthy.ToUnixTimeMilliseconds()) : null,
    };

    private static long? Ms(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds();
}
/// <summary>A rollout cannot start while rollout <paramref name="id"/> is running, paused or rolling back.</summary>
public sealed class RolloutActiveException(ulong id, RolloutState state)
    : Exception($"rollout {id} is {RolloutWords.Of(state)}; abort it (or let it finish) before starting another")
{
    /// <summary>The active rollout's number.</summary>
    public ulong Id { get; } = id;
}

/// <summary>The rollout was changed (by an operator, or another controller) after it was read; read it again.</summary>
public sealed class RolloutChangedException(ulong id) : Exception($"rollout {id} changed meanwhile");
