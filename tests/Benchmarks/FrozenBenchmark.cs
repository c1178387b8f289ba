using Hawser.Shared.Protocol;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Grpc.Core;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Transport;
using Hawser.TestSupport;

namespace Hawser.Benchmarks;

/// <summary>
/// A controller process and N simulated agents, one of which stops reading its stream after its hello (its HTTP/2
/// window stays shut, as a frozen host's does). ROUNDS applies each send that node ~300 KB and every node a new
/// sysctl value; per round: how long the ApplySpec call took and until the other N-1 agents had the revision. Run
/// once with the frozen node and once without, side by side.
/// </summary>
public static class FrozenBenchmark
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Runs both cases.</summary>
    public static async Task<int> RunAsync(int agents, int rounds)
    {
        foreach (var frozen in new[] { false, true })
        {
            await RunOneAsync(agents, rounds, frozen);
        }
        return 0;
    }

    private static async Task RunOneAsync(int agents, int rounds, bool frozen)
    {
        using var data = new TempDirectory("hawser-frozen-bench-");
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--anonymous-rate", "100000");
        using var admin = controller.Channel();
        var control = new ControlService.ControlServiceClient(admin);
        var token = await control.CreateJoinTokenAsync(new CreateJoinTokenRequest { Uses = (uint)agents, TtlSeconds = 3600 });
        using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(data.Path, "pki", "ca.crt"));
        var identities = new X509Certificate2[agents];
        using (var enroll = ControllerChannel.Create(controller.Address, new ControllerChannelOptions { TrustedCa = ca }))
        {
            await Parallel.ForAsync(0, agents, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, cancellationToken) =>
                identities[i] = await NodeEnrollment.JoinAsync(enroll, token.Token, Name(i), cancellationToken));
        }

        var received = new ulong[agents];
        using var stop = new CancellationTokenSource();
        var streams = new List<(IDisposable Channel, IDisposable Call, Task Loop)>();
        for (var i = 0; i < agents; i++)
        {
            var index = i;
            var channel = ControllerChannel.Create(controller.Address, new ControllerChannelOptions { TrustedCa = ca, ClientCertificate = identities[i] });
            var call = new AgentService.AgentServiceClient(channel).Connect(cancellationToken: stop.Token);
            await call.RequestStream.WriteAsync(new AgentMessage { Hello = new Hello { NodeName = Name(i), AgentVersion = Hawser.TestSupport.BuildVersion.Current } });
            // Node 0, when frozen, never reads what it is sent.
            var loop = frozen && i == 0 ? Task.CompletedTask : Task.Run(async () =>
            {
                try
                {
                    await foreach (var message in call.ResponseStream.ReadAllAsync(stop.Token))
                    {
                        if (message.BodyCase == ControllerMessage.BodyOneofCase.DesiredState)
                        {
                            Volatile.Write(ref received[index], message.DesiredState.Revision);
                            await call.RequestStream.WriteAsync(new AgentMessage { Ack = new Ack { InReplyTo = message.MessageId, Ok = true } });
                        }
                    }
                }
                catch (Exception ex) when (ex is RpcException or OperationCanceledException or IOException)
                {
                    // Ended by the run.
                }
            });
            streams.Add((channel, call, loop));
        }
        while ((await control.ListAllNodesAsync()).Count(n => n.Connected) < agents)
        {
            await Task.Delay(100);
        }

        var calls = new List<string>();
        var arrivals = new List<string>();
        for (var round = 1; round <= rounds; round++)
        {
            var started = Stopwatch.GetTimestamp();
            ApplySpecResponse applied;
            try
            {
                applied = await control.ApplySpecAsync(new ApplySpecRequest { SpecYaml = Spec(agents, round), FileName = "fleet.yaml" }, deadline: DateTime.UtcNow + Bound);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded)
            {
                calls.Add($">{Bound.TotalSeconds:0}s");
                arrivals.Add("-");
                break;
            }
            calls.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture));
            while (!Enumerable.Range(frozen ? 1 : 0, frozen ? agents - 1 : agents).All(i => Volatile.Read(ref received[i]) == applied.Revision)
                && Stopwatch.GetElapsedTime(started) < Bound)
            {
                await Task.Delay(1);
            }
            var all = Stopwatch.GetElapsedTime(started);
            arrivals.Add(all < Bound ? all.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) : $">{Bound.TotalSeconds:0}s");
        }
        var stalled = controller.Log.Any(l => l.Contains("stopped taking what is sent", StringComparison.Ordinal));
        Console.WriteLine($"agents={agents} frozen={(frozen ? 1 : 0)} apply_call_ms=[{string.Join(' ', calls)}] others_received_ms=[{string.Join(' ', arrivals)}] frozen_disconnected={stalled}");

        await stop.CancelAsync();
        foreach (var (channel, call, loop) in streams)
        {
            call.Dispose();
            await loop;
            channel.Dispose();
        }
        foreach (var identity in identities)
        {
            identity.Dispose();
        }
    }

    private static string Spec(int agents, int round)
    {
        var spec = new StringBuilder("apiVersion: hawser/v1\nnodes:\n");
        spec.Append(CultureInfo.InvariantCulture, $"  {Name(0)}: {{labels: {{role: web, pad: \"{new string((char)('a' + round % 26), 300_000)}\"}}}}\n");
        for (var i = 1; i < agents; i++)
        {
            spec.Append(CultureInfo.InvariantCulture, $"  {Name(i)}: {{labels: {{role: web}}}}\n");
        }
        spec.Append(CultureInfo.InvariantCulture, $"profiles:\n  web:\n    selector: {{role: web}}\n    sysctls: {{net.ipv4.tcp_keepalive_time: \"{600 + round}\"}}\n");
        return spec.ToString();
    }

    private static string Name(int i) => $"node{i:D4}";
}
