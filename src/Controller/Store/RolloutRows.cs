using System.Data.Common;
using System.Text.Json;
using Hawser.Controller.Rollouts;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

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
