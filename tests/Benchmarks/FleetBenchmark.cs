using Hawser.Shared.Protocol;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Hawser.Shared.Pki;
using Grpc.Core;
using Grpc.Net.Client;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Transport;
using Hawser.TestSupport;

namespace Hawser.Benchmarks;

/// <summary>
/// A real controller process and N simulated agents in this process: each enrolls with its own key
/// and certificate and holds its own mTLS stream. A new revision naming every node is applied; each
/// agent notes when its desired state arrives and answers with an ack and a report at once. Prints
/// the arrival times after the apply call started (p50, p99, max), the time until the controller had
/// every report stored, and the controller's RSS per connected agent.
/// </summary>
public static class FleetBenchmark
{
    /// <summary>Runs the benchmark for each N.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<int> sizes)
    {
        ThreadPool.SetMinThreads(64, 64);
        foreach (var size in sizes)
        {
            await RunOneAsync(size);
        }
        return 0;
    }

    private static async Task RunOneAsync(int agents)
    {
        using var data = new TempDirectory("hawser-fleet-bench-");
        // Thousands of enrollments from one address: above the default anonymous rate.
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--anonymous-rate", "100000");
        using var admin = controller.Channel();
        var token = await new ControlService.ControlServiceClient(admin).CreateJoinTokenAsync(new CreateJoinTokenRequest { Uses = (uint)agents, TtlSeconds = 3600 });
        using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(data.Path, "pki", "ca.crt"));

        var identities = new X509Certificate2[agents];
        var enrollStarted = Stopwatch.GetTimestamp();
        using (var enroll = ControllerChannel.Create(controller.Address, new ControllerChannelOptions { TrustedCa = ca }))
        {
            await Parallel.ForAsync(0, agents, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, cancellationToken) =>
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var joined = await new EnrollmentService.EnrollmentServiceClient(enroll).JoinAsync(new JoinRequest
                {
                    Token = token.Token, NodeName = Name(i), CsrDer = Google.Protobuf.ByteString.CopyFrom(CertificateAuthority.CreateSigningRequest(key, Name(i))),
                }, cancellationToken: cancellationToken);
                using var certificate = X509Certificate2.CreateFromPem(joined.CertificatePem).CopyWithPrivateKey(key);
                identities[i] = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
            });
        }
        var enrollment = Stopwatch.GetElapsedTime(enrollStarted);
        var rssBefore = Rss(controller.Pid);

        var received = new long[agents];
        var connected = new CountdownEvent(agents);
        var streams = new List<(GrpcChannel Channel, AsyncDuplexStreamingCall<AgentMessage, ControllerMessage> Call, Task Loop)>();
        for (var i = 0; i < agents; i++)
        {
            var index = i;
            var channel = ControllerChannel.Create(controller.Address, new ControllerChannelOptions { TrustedCa = ca, ClientCertificate = identities[i] });
            var call = new AgentService.AgentServiceClient(channel).Connect();
            await call.RequestStream.WriteAsync(new AgentMessage { Hello = new Hello { NodeName = Name(i), AgentVersion = Hawser.TestSupport.BuildVersion.Current } });
            var loop = Task.Run(async () =>
            {
                connected.Signal();
                await foreach (var message in call.ResponseStream.ReadAllAsync())
                {
                    if (message.BodyCase == ControllerMessage.BodyOneofCase.DesiredState)
                    {
                        received[index] = Stopwatch.GetTimestamp();
                        await call.RequestStream.WriteAsync(new AgentMessage { Ack = new Ack { InReplyTo = message.MessageId, Ok = true } });
                        var report = new StatusReport { Revision = message.DesiredState.Revision };
                        report.Resources.Add(new ResourceStatus { Kind = "sysctl", Name = "net.ipv4.tcp_keepalive_time", State = ResourceState.InSync });
                        await call.RequestStream.WriteAsync(new AgentMessage { Status = report });
                    }
                }
            });
            streams.Add((channel, call, loop));
        }
        connected.Wait(TimeSpan.FromMinutes(2));
        // Every stream's hello is in once the controller lists every node as connected.
        while ((await new ControlService.ControlServiceClient(admin).ListAllNodesAsync()).Count(n => n.Connected) < agents)
        {
            await Task.Delay(100);
        }
        var rssConnected = Rss(controller.Pid);

        var spec = new StringBuilder("apiVersion: hawser/v1\nnodes:\n");
        for (var i = 0; i < agents; i++)
        {
            spec.Append(CultureInfo.InvariantCulture, $"  {Name(i)}: {{labels: {{role: web}}}}\n");
        }
        spec.Append("profiles:\n  web:\n    selector: {role: web}\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");
        var started = Stopwatch.GetTimestamp();
        var applied = await new ControlService.ControlServiceClient(admin).ApplySpecAsync(new ApplySpecRequest { SpecYaml = spec.ToString(), FileName = "fleet.yaml" });
        var applyCall = Stopwatch.GetElapsedTime(started);
        while (received.Any(r => r == 0) && Stopwatch.GetElapsedTime(started) < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(1);
        }
        var allReceived = Stopwatch.GetElapsedTime(started);
        // Counted in the store's own file, read-only beside the controller: listing 10,000 nodes through the API every
        // few milliseconds would take the controller's CPU from the very reports being measured.
        await using (var store = new Microsoft.Data.Sqlite.SqliteConnection(
            $"Data Source={Path.Combine(data.Path, Hawser.Controller.Store.Engines.SqliteEngine.DatabaseFileName)};Mode=ReadOnly"))
        {
            await store.OpenAsync();
            using var count = store.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM nodes WHERE applied_revision = $revision";
            count.Parameters.AddWithValue("$revision", (long)applied.Revision);
            while ((long)(await count.ExecuteScalarAsync())! < agents)
            {
                await Task.Delay(5);
            }
        }
        var allStored = Stopwatch.GetElapsedTime(started);

        var times = received.Select(r => r == 0 ? double.NaN : (r - started) * 1000.0 / Stopwatch.Frequency).Order().ToArray();
        double At(double q) => times[Math.Min(times.Length - 1, (int)Math.Ceiling(q * times.Length) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"agents={agents} enroll_s={enrollment.TotalSeconds:0.0} pushed={applied.PushedNodes.Count} apply_call_ms={applyCall.TotalMilliseconds:0.0} " +
            $"arrival_p50_ms={At(0.50):0.0} arrival_p99_ms={At(0.99):0.0} arrival_max_ms={times[^1]:0.0} all_received_ms={allReceived.TotalMilliseconds:0.0} " +
            $"all_reports_stored_ms={allStored.TotalMilliseconds:0.0} controller_rss_before_mib={rssBefore / 1024.0:0.0} " +
            $"controller_rss_connected_mib={rssConnected / 1024.0:0.0} rss_per_agent_kib={(rssConnected - rssBefore) / (double)agents:0.0}"));

        foreach (var (channel, call, loop) in streams)
        {
            call.Dispose();
            channel.Dispose();
        }
        foreach (var identity in identities)
        {
            identity.Dispose();
        }
        connected.Dispose();
    }

    private static string Name(int i) => $"node{i:D4}";

    /// <summary>VmRSS of a process, KiB.</summary>
    private static long Rss(int pid) =>
        long.Parse(File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
