using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Hawser.Shared.Pki;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Transport;

namespace Hawser.TestSupport;

/// <summary>
/// Many agents in this process, for fleets too large for one process each: every one enrolls once with its own key,
/// holds one mTLS stream to one controller of a <see cref="ControllerCluster"/>, answers a desired state with an ack and
/// a report, and when its stream ends moves to the next controller of its own shuffled order after a random pause of
/// up to a second, as the real agent does.
/// </summary>
public sealed class SimulatedAgents : IAsyncDisposable
{
    private readonly ControllerCluster _cluster;
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2[] _identities;
    private readonly int[] _on;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];

    private SimulatedAgents(ControllerCluster cluster, X509Certificate2 ca, X509Certificate2[] identities)
    {
        _cluster = cluster;
        _ca = ca;
        _identities = identities;
        _on = Enumerable.Repeat(-1, identities.Length).ToArray();
    }

    /// <summary>The node names, in order.</summary>
    public IReadOnlyList<string> Nodes => [.. Enumerable.Range(0, _identities.Length).Select(Name)];

    /// <summary>Which controller each agent's stream is open to now (-1: none).</summary>
    public IReadOnlyList<int> ConnectedTo => [.. _on];

    /// <summary>How many times agents enrolled (one each: a reconnect never enrolls again).</summary>
    public int Enrollments { get; private set; }

    /// <summary>Desired states received, all agents together.</summary>
    public long DesiredStates => Interlocked.Read(ref _desiredStates);

    private long _desiredStates;

    /// <summary>Enrolls <paramref name="count"/> agents, spread over the running controllers.</summary>
    public static async Task<SimulatedAgents> EnrollAsync(ControllerCluster cluster, int count, int parallel = 8)
    {
        var token = await cluster.TokenAsync(0, count);
        var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Join(cluster[0].DataDirectory, "pki", "ca.crt"));
        var running = Enumerable.Range(0, cluster.Controllers.Count).Where(i => cluster.Controllers[i] is not null).ToArray();
        var channels = running.Select(i => ControllerChannel.Create(cluster[i].Address, new ControllerChannelOptions { TrustedCa = ca })).ToArray();
        var identities = new X509Certificate2[count];
        try
        {
            await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, cancellationToken) =>
            {
                identities[i] = await NodeEnrollment.JoinAsync(channels[i % channels.Length], token, Name(i), cancellationToken);
            });
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
        return new SimulatedAgents(cluster, ca, identities) { Enrollments = count };
    }

    /// <summary>Called with an agent's index and the revision when it receives a desired state (before it answers).</summary>
    public Action<int, ulong>? DesiredStateReceived { get; set; }

    /// <summary>
    /// Starts every agent on controller 0 and waits until all are connected; returns, per agent, the newest revision it has
    /// been sent since (the caller may clear it to see what a restarted controller sends).
    /// </summary>
    public async Task<System.Collections.Concurrent.ConcurrentDictionary<int, ulong>> StartTrackedAsync()
    {
        var received = new System.Collections.Concurrent.ConcurrentDictionary<int, ulong>();
        DesiredStateReceived = (index, revision) => received.AddOrUpdate(index, revision, (_, seen) => Math.Max(seen, revision));
        Start();
        if (!await Poll.UntilAsync(() => ConnectedTo.All(c => c == 0), TimeSpan.FromMinutes(3)))
        {
            throw new InvalidOperationException($"{ConnectedTo.Count(c => c == 0)} of {ConnectedTo.Count} simulated agents connected within 3 minutes");
        }
        return received;
    }

    /// <summary>A spec naming <paramref name="nodes"/> (role web), whose web profile sets tcp_keepalive_time to <paramref name="keepalive"/>; <paramref name="moreNodes"/> adds node lines.</summary>
    public static string Spec(IEnumerable<string> nodes, int keepalive, string moreNodes = "")
    {
        var spec = new System.Text.StringBuilder("apiVersion: hawser/v1\nnodes:\n");
        foreach (var node in nodes)
        {
            spec.Append($"  {node}: {{labels: {{role: web}}}}\n");
        }
        spec.Append(moreNodes);
        spec.Append($"profiles:\n  web:\n    selector: {{role: web}}\n    sysctls: {{net.ipv4.tcp_keepalive_time: \"{keepalive}\"}}\n");
        return spec.ToString();
    }

    /// <summary>Starts every agent's connection loop, over <paramref name="controllers"/> (default: all).</summary>
    public void Start(IReadOnlyList<int>? controllers = null) => Start(0, _identities.Length, controllers);

    /// <summary>Starts the connection loops of agents <paramref name="from"/> to <paramref name="from"/> + <paramref name="count"/> - 1.</summary>
    public void Start(int from, int count, IReadOnlyList<int>? controllers = null)
    {
        for (var i = from; i < from + count; i++)
        {
            var index = i;
            _loops.Add(Task.Run(() => RunAsync(index, controllers)));
        }
    }

    private async Task RunAsync(int index, IReadOnlyList<int>? controllers)
    {
        var order = controllers?.ToArray() ?? Enumerable.Range(0, _cluster.Controllers.Count).ToArray();
        new Random(index).Shuffle(order);
        var position = index % order.Length;
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            var controller = order[position];
            position = (position + 1) % order.Length;
            if (_cluster.Controllers[controller] is not { } target)
            {
                // Stopped (a restart in progress): wait as after a refused connect, never spin.
                try
                {
                    await Task.Delay(Random.Shared.Next(100, 1000), token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            try
            {
                using var channel = ControllerChannel.Create(target.Address, new ControllerChannelOptions { TrustedCa = _ca, ClientCertificate = _identities[index] });
                using var call = new AgentService.AgentServiceClient(channel).Connect(cancellationToken: token);
                await call.RequestStream.WriteAsync(new AgentMessage { Hello = new Hello { NodeName = Name(index), AgentVersion = BuildVersion.Current } }, token);
                Volatile.Write(ref _on[index], controller);
                await foreach (var message in call.ResponseStream.ReadAllAsync(token))
                {
                    if (message.BodyCase == ControllerMessage.BodyOneofCase.DesiredState)
                    {
                        Interlocked.Increment(ref _desiredStates);
                        DesiredStateReceived?.Invoke(index, message.DesiredState.Revision);
                        await call.RequestStream.WriteAsync(new AgentMessage { Ack = new Ack { InReplyTo = message.MessageId, Ok = true } }, token);
                        var report = new StatusReport { Revision = message.DesiredState.Revision, DesiredStateNew = true };
                        report.Resources.Add(new ResourceStatus { Kind = "sysctl", Name = "net.ipv4.tcp_keepalive_time", State = ResourceState.InSync });
                        await call.RequestStream.WriteAsync(new AgentMessage { Status = report }, token);
                    }
                    else if (message.BodyCase is ControllerMessage.BodyOneofCase.ChallengePut or ControllerMessage.BodyOneofCase.ChallengeRemove)
                    {
                        // Acknowledged as served: nothing listens here, so an order needs a CA that skips validation (PebbleServer's alwaysValid).
                        await call.RequestStream.WriteAsync(new AgentMessage { Ack = new Ack { InReplyTo = message.MessageId, Ok = true } }, token);
                    }
                }
            }
            catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or ObjectDisposedException || ex is OperationCanceledException && !token.IsCancellationRequested)
            {
                // The stream ended: move on.
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Volatile.Write(ref _on[index], -1);
            try
            {
                await Task.Delay(Random.Shared.Next(0, 1000), token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static string Name(int i) => $"sim{i:D5}";

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        foreach (var identity in _identities)
        {
            identity.Dispose();
        }
        _ca.Dispose();
        _stop.Dispose();
    }
}
