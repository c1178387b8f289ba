using System.Globalization;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>Which controller holds each agent's stream, and messages for agents another controller holds.</summary>
public sealed class NodeMessageRepository(ControllerStore store)
{
    /// <summary>Records which controller holds <paramref name="node"/>'s stream (null: none), for messages relayed to it; with <paramref name="onlyIf"/>, only while that one holds it.</summary>
    public async Task SetConnectedToAsync(string node, string? controller, string? onlyIf = null)
    {
        await using var connection = await store.OpenConnectionAsync();
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
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "SELECT name, connected_to FROM nodes WHERE connected_to IS NOT NULL");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new StoreRow(reader);
            if (wanted.Contains(row.Text("name")))
            {
                result[row.Text("name")] = row.Text("connected_to");
            }
        }
        return result;
    }

    /// <summary>Queues a message for each node (by the controller <paramref name="origin"/>) and wakes the others; returns the ids by node.</summary>
    public async Task<IReadOnlyDictionary<string, long>> EnqueueAsync(string origin, IReadOnlyDictionary<string, byte[]> bodies, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
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
        await store.NotifyAsync(connection, transaction, ControllerStore.Topics.Messages, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return ids;
    }

    /// <summary>Claims the pending messages for <paramref name="nodes"/> (this controller's streams): each is handed to one controller only.</summary>
    public async Task<IReadOnlyList<NodeMessageRecord>> ClaimAsync(IReadOnlyCollection<string> nodes, CancellationToken cancellationToken = default)
    {
        if (nodes.Count == 0)
        {
            return [];
        }
        var wanted = nodes.ToHashSet(StringComparer.Ordinal);
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var pending = new List<NodeMessageRecord>();
        using (var select = connection.Command(null, "SELECT id, node, body FROM node_messages WHERE state = 'pending' ORDER BY id"))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var row = new StoreRow(reader);
                if (wanted.Contains(row.Text("node")))
                {
                    pending.Add(new NodeMessageRecord(row.Number("id"), row.Text("node"), row.BytesOrNull("body")!, "pending", null));
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
    public async Task CompleteAsync(long id, string state, byte[] reply, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.Command(transaction, "UPDATE node_messages SET state = @state, reply = @reply WHERE id = @id");
        command.Add("@state", state);
        command.Add("@reply", reply);
        command.Add("@id", id);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await store.NotifyAsync(connection, transaction, ControllerStore.Topics.Messages, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The relayed messages <paramref name="ids"/> as they stand.</summary>
    public async Task<IReadOnlyList<NodeMessageRecord>> ReadAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default)
    {
        var wanted = ids.ToHashSet();
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "SELECT id, node, body, state, reply FROM node_messages WHERE id >= @min ORDER BY id");
        command.Add("@min", ids.Count == 0 ? long.MaxValue : ids.Min());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new List<NodeMessageRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new StoreRow(reader);
            if (wanted.Contains(row.Number("id")))
            {
                result.Add(new NodeMessageRecord(row.Number("id"), row.Text("node"), row.BytesOrNull("body")!, row.Text("state"), row.BytesOrNull("reply")));
            }
        }
        return result;
    }
}
