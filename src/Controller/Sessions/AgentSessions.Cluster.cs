using System.Collections.Concurrent;
using Google.Protobuf;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Sessions;

/// <summary>
/// With several controllers on one store, each holds some agents' streams. A change another controller made
/// reaches this one's agents through <see cref="RefreshAsync"/>; a message for an agent on another controller
/// (a challenge to put, say) goes through the store, and that controller sends it and stores the reply.
/// </summary>
public sealed partial class AgentSessions
{
    private readonly Lock _relayLock = new();
    private TaskCompletionSource _relayChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>This controller's name among those sharing the store (host, process, and a random part).</summary>
    public string ControllerId { get; init; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";

    /// <summary>The nodes whose streams this controller holds.</summary>
    public IReadOnlyCollection<string> ConnectedNodes => [.. _sessions.Keys];

    /// <summary>
    /// Pushes every connected agent whose desired state the store now makes different from what it was last sent
    /// (another controller stored a revision, moved a rollout or obtained a certificate), and closes the streams
    /// of nodes that were removed; returns the nodes pushed to.
    /// </summary>
    public async Task<IReadOnlyList<string>> RefreshAsync()
    {
        if (_sessions.IsEmpty)
        {
            return [];
        }
        var nodes = (await store.Nodes.ListWithoutReportsAsync()).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in _sessions.Keys.Where(name => !nodes.Contains(name)))
        {
            Disconnect(name);
        }
        return await PushCurrentAsync(_sessions.Keys);
    }

    /// <summary>Another controller queued or answered a relayed message: send what is for this controller's agents, and wake the waiting.</summary>
    public async Task RelayAsync(CancellationToken cancellationToken)
    {
        lock (_relayLock)
        {
            _relayChanged.TrySetResult();
            _relayChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        var claimed = await store.NodeMessages.ClaimAsync(ConnectedNodes, cancellationToken: cancellationToken);
        await Task.WhenAll(claimed.Select(async message =>
        {
            string state;
            byte[] reply;
            if (!_sessions.TryGetValue(message.Node, out var session))
            {
                (state, reply) = ("failed", "not connected"u8.ToArray());
            }
            else
            {
                // A request (a dry run) is answered with a report; anything else with an acknowledgement.
                var body = ControllerMessage.Parser.ParseFrom(message.Body);
                var isRequest = body.BodyCase == ControllerMessage.BodyOneofCase.Request;
                var timeout = isRequest ? RelayedRequestTimeout : RelayTimeout;
                try
                {
                    reply = isRequest
                        ? (await AskAsync(session, session.Pending, body, timeout, cancellationToken)).ToByteArray()
                        : (await AskAsync(session, session.Acks, body, timeout, cancellationToken)).ToByteArray();
                    state = "done";
                }
                catch (TimeoutException)
                {
                    (state, reply) = ("failed", System.Text.Encoding.UTF8.GetBytes($"did not answer within {timeout.TotalSeconds:0} s"));
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    (state, reply) = ("failed", "disconnected"u8.ToArray());
                }
            }
            await store.NodeMessages.CompleteAsync(message.Id, state, reply);
        }));
    }

    /// <summary>How long the controller that holds a stream waits for the agent's acknowledgement of a relayed message.</summary>
    private static readonly TimeSpan RelayTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long it waits for the agent's answer to a relayed request (a dry run converges every resource's check).</summary>
    private static readonly TimeSpan RelayedRequestTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Sends <paramref name="make"/>'s message to nodes on other controllers through the store and waits for their acknowledgements.</summary>
    private async Task RelayBroadcastAsync(List<string> nodes, Func<string, ControllerMessage> make, TimeSpan timeout,
        ConcurrentDictionary<string, string> failures, CancellationToken cancellationToken)
    {
        var holders = await store.NodeMessages.ConnectedToAsync(nodes, cancellationToken: cancellationToken);
        foreach (var node in nodes.Where(n => !holders.ContainsKey(n)))
        {
            failures[node] = NotConnected;
        }
        var bodies = nodes.Where(holders.ContainsKey).ToDictionary(n => n, n => make(n).ToByteArray(), StringComparer.Ordinal);
        foreach (var (node, (reply, why)) in await RelayThroughStoreAsync(bodies, timeout, cancellationToken))
        {
            if (why is not null)
            {
                failures[node] = why;
            }
            else if (Ack.Parser.ParseFrom(reply) is { Ok: false } ack)
            {
                failures[node] = ack.Error;
            }
        }
    }

    /// <summary>Asks an agent connected to another controller for a dry run through the store; null when none holds its stream or no answer came in time.</summary>
    private async Task<StatusReport?> RelayDryRunAsync(string node, ControllerMessage request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // One row, read by its key (ConnectedTo scans every connected row: a diff asks this once per node).
        if (await store.Nodes.GetAsync(node, cancellationToken) is not { ConnectedTo: not null })
        {
            return null;
        }
        var (reply, why) = (await RelayThroughStoreAsync(new Dictionary<string, byte[]>(StringComparer.Ordinal) { [node] = request.ToByteArray() }, timeout, cancellationToken))[node];
        return why is null ? StatusReport.Parser.ParseFrom(reply) : null;
    }

    /// <summary>
    /// Queues each node's message body for the controller holding its stream and waits for the answers: per node the
    /// reply (an acknowledgement or a report), or why there is none (Why set).
    /// </summary>
    private async Task<Dictionary<string, (byte[] Reply, string? Why)>> RelayThroughStoreAsync(Dictionary<string, byte[]> bodies, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var answers = new Dictionary<string, (byte[] Reply, string? Why)>(StringComparer.Ordinal);
        if (bodies.Count == 0)
        {
            return answers;
        }
        var ids = await store.NodeMessages.EnqueueAsync(ControllerId, bodies, cancellationToken: cancellationToken);
        var deadline = DateTimeOffset.UtcNow + timeout;
        var open = new Dictionary<long, string>(ids.ToDictionary(p => p.Value, p => p.Key));
        while (open.Count > 0)
        {
            Task changed;
            lock (_relayLock)
            {
                changed = _relayChanged.Task;
            }
            foreach (var message in (await store.NodeMessages.ReadAsync(open.Keys, cancellationToken: cancellationToken)).Where(m => m.State is "done" or "failed"))
            {
                open.Remove(message.Id);
                answers[message.Node] = message.State == "failed"
                    ? ([], System.Text.Encoding.UTF8.GetString(message.Reply ?? []))
                    : (message.Reply ?? [], null);
            }
            var left = deadline - DateTimeOffset.UtcNow;
            if (open.Count == 0)
            {
                break;
            }
            if (left <= TimeSpan.Zero)
            {
                foreach (var node in open.Values)
                {
                    answers[node] = ([], $"did not answer within {timeout.TotalSeconds:0} s (through the controller holding its stream)");
                }
                break;
            }
            // Woken by the reply's notification; the short cap covers a missed one.
            await Task.WhenAny(changed, Task.Delay(left < TimeSpan.FromMilliseconds(250) ? left : TimeSpan.FromMilliseconds(250), cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
        return answers;
    }
}
