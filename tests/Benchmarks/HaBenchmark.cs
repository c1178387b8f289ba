using Hawser.Shared.Protocol;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Grpc.Net.Client;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Benchmarks;

/// <summary>
/// Several controllers on one PostgreSQL (Debian's, a cluster of its own), with agents simulated in this process
/// (<see cref="SimulatedAgents"/>): the time from an apply through controller A to its arrival at agents connected to
/// controller B, with NOTIFY and with polling only; how long the agents of a killed controller take to be connected
/// to the others; and a large fleet over three controllers: all acknowledged after an apply, and PostgreSQL's CPU share.
/// </summary>
public static class HaBenchmark
{
    /// <summary>Runs the three measures.</summary>
    public static async Task<int> RunAsync(int agents, int rounds, int failoverAgents, int fleet)
    {
        ThreadPool.SetMinThreads(64, 64);
        if (agents > 0)
        {
            await LatencyAsync(agents, rounds, notify: true);
            await LatencyAsync(agents, rounds, notify: false);
        }
        if (failoverAgents > 0)
        {
            await FailoverAsync(failoverAgents);
        }
        if (fleet > 0)
        {
            await FleetAsync(fleet);
        }
        return 0;
    }

    private static async Task LatencyAsync(int agents, int rounds, bool notify)
    {
        await using var cluster = await ControllerCluster.StartAsync(2, "--store-notify", notify ? "true" : "false");
        await using var fleet = await SimulatedAgents.EnrollAsync(cluster, agents);
        var arrivals = new long[agents];
        fleet.DesiredStateReceived = (index, _) => Volatile.Write(ref arrivals[index], Stopwatch.GetTimestamp());
        fleet.Start([1]);
        await WaitConnectedAsync(cluster, 0, agents);
        using var admin = cluster[0].Channel();
        var client = new ControlService.ControlServiceClient(admin);
        var times = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            Array.Clear(arrivals);
            var started = Stopwatch.GetTimestamp();
            var applying = client.ApplySpecAsync(new ApplySpecRequest { SpecYaml = Spec(fleet.Nodes, 600 + round), FileName = "ha.yaml" }).ResponseAsync;
            // With HA_BENCH_VERBOSE, an apply that takes long shows what the database sessions are doing meanwhile.
            while (Environment.GetEnvironmentVariable("HA_BENCH_VERBOSE") is not null && await Task.WhenAny(applying, Task.Delay(SessionsShownEvery)) != applying)
            {
                Console.WriteLine(await cluster.Postgres.ScalarAsync(cluster.Database,
                    "SELECT string_agg(pid || ' ' || application_name || ' ' || state || ' xact ' || COALESCE(now() - xact_start, '0')::text || ' wait ' || COALESCE(wait_event, '-') || ': ' || left(query, 120), E'\n') FROM pg_stat_activity WHERE datname = 'hawser'"));
            }
            var revision = (await applying).Revision;
            var call = (Stopwatch.GetTimestamp() - started) * 1000.0 / Stopwatch.Frequency;
            // Each arrival is stamped by the agent as it happens; the poll only says when all are in.
            await Poll.UntilAsync(() => arrivals.All(a => a != 0), TimeSpan.FromSeconds(30));
            var round_ = arrivals.Select(a => a == 0 ? double.NaN : (a - started) * 1000.0 / Stopwatch.Frequency).ToArray();
            if (Environment.GetEnvironmentVariable("HA_BENCH_VERBOSE") is not null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round}: apply call {call:0} ms, arrivals min {round_.Min():0} max {round_.Max():0} over1s {round_.Count(t => t > 1000)}"));
            }
            times.AddRange(round_);
            // The next round starts once every report of this one is stored.
            await Poll.UntilAsync(async () => await CountAsync(cluster, $"applied_revision = {revision}") == agents, TimeSpan.FromSeconds(30));
        }
        if (Environment.GetEnvironmentVariable("HA_BENCH_VERBOSE") is not null)
        {
            Console.WriteLine(cluster.Postgres.Log);
        }
        var sorted = times.Order().ToArray();
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"apply_on_A_arrival_on_B wakeups={(notify ? "notify+poll-2s" : "poll-2s-only")} agents={agents} rounds={rounds} " +
            $"p50_ms={At(0.50):0.0} p99_ms={At(0.99):0.0} max_ms={sorted[^1]:0.0} missing={sorted.Count(double.IsNaN)}"));
    }

    private static async Task FailoverAsync(int agents)
    {
        await using var cluster = await ControllerCluster.StartAsync(3, "--lease-ttl", "3s");
        await using var fleet = await SimulatedAgents.EnrollAsync(cluster, agents);
        fleet.Start();
        await WaitConnectedAsync(cluster, 0, agents);
        var moving = fleet.ConnectedTo.Count(c => c == 2);
        var killed = Stopwatch.StartNew();
        await cluster.KillAsync(2);
        // Checked every 20 ms: the figure is this moment, so the check must be finer than the tenths it is read in.
        await Poll.UntilAsync(() => fleet.ConnectedTo.All(c => c is 0 or 1), TimeSpan.FromMinutes(3), TimeSpan.FromMilliseconds(20));
        var allBack = killed.Elapsed;
        await WaitConnectedAsync(cluster, 1, agents);
        var listed = killed.Elapsed;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"failover agents={agents} on_killed_controller={moving} all_streams_open_again_s={allBack.TotalSeconds:0.00} all_listed_connected_by_survivors_s={listed.TotalSeconds:0.00}"));
    }

    private static async Task FleetAsync(int agents)
    {
        await using var cluster = await ControllerCluster.StartAsync(3);
        var enrolling = Stopwatch.StartNew();
        await using var fleet = await SimulatedAgents.EnrollAsync(cluster, agents, parallel: 16);
        var enrolled = enrolling.Elapsed;
        // The agents connect a thousand at a time (counted in the database: a ListNodes answer for 10,000 nodes is
        // larger than a gRPC message may be). What is measured is an apply to a connected fleet; ten thousand TLS
        // handshakes at once from this one process, on the two cores the controllers and PostgreSQL share, are not.
        var connecting = Stopwatch.StartNew();
        for (var from = 0; from < agents; from += RampStep)
        {
            var step = Math.Min(RampStep, agents - from);
            fleet.Start(from, step);
            if (!await Poll.UntilAsync(async () => await CountAsync(cluster, "connected_to IS NOT NULL") >= from + step, TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(1)))
            {
                throw new TimeoutException($"agents {from}..{from + step - 1} did not all connect");
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {from + step} connected after {connecting.Elapsed.TotalSeconds:0} s"));
        }
        var connected = connecting.Elapsed;
        var cpuBefore = Cpu(cluster);
        var started = Stopwatch.StartNew();
        using var admin = cluster[0].Channel();
        var applied = await new ControlService.ControlServiceClient(admin).ApplySpecAsync(new ApplySpecRequest { SpecYaml = Spec(fleet.Nodes, 700), FileName = "fleet.yaml" });
        var call = started.Elapsed;
        await Poll.UntilAsync(async () => await CountAsync(cluster, $"applied_revision = {applied.Revision}") == agents, TimeSpan.FromMinutes(10));
        var all = started.Elapsed;
        var cpuAfter = Cpu(cluster);
        var postgres = cpuAfter.Postgres - cpuBefore.Postgres;
        var controllers = cpuAfter.Controllers - cpuBefore.Controllers;
        var simulated = cpuAfter.Agents - cpuBefore.Agents;
        var total = postgres + controllers + simulated;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fleet agents={agents} controllers=3 enroll_s={enrolled.TotalSeconds:0.0} connect_s={connected.TotalSeconds:0} apply_call_ms={call.TotalMilliseconds:0} all_acknowledged_s={all.TotalSeconds:0.00} " +
            $"cpu_s postgres={postgres:0.00} controllers={controllers:0.00} simulated_agents={simulated:0.00} postgres_share={postgres / total:P0}"));
    }

    /// <summary>How many simulated agents start connecting at once while the large fleet is brought up.</summary>
    private const int RampStep = 1000;

    private static string Spec(IReadOnlyList<string> nodes, int keepalive)
    {
        var spec = new StringBuilder("apiVersion: hawser/v1\nnodes:\n");
        foreach (var node in nodes)
        {
            spec.Append("  ").Append(node).Append(": {labels: {role: web}}\n");
        }
        return spec.Append(CultureInfo.InvariantCulture, $"profiles:\n  web:\n    selector: {{role: web}}\n    sysctls: {{net.ipv4.tcp_keepalive_time: \"{keepalive}\"}}\n").ToString();
    }

    /// <summary>How often, with HA_BENCH_VERBOSE, a slow apply shows the database's sessions.</summary>
    private static readonly TimeSpan SessionsShownEvery = TimeSpan.FromSeconds(3);

    private static async Task<long> CountAsync(ControllerCluster cluster, string where) =>
        (long)(await cluster.Postgres.ScalarAsync(cluster.Database, $"SELECT COUNT(*) FROM nodes WHERE {where}"))!;

    /// <summary>Waits until controller <paramref name="index"/> lists <paramref name="count"/> nodes as connected.</summary>
    private static async Task WaitConnectedAsync(ControllerCluster cluster, int index, int count)
    {
        var connected = await Poll.UntilAsync(async () =>
        {
            try
            {
                using var channel = cluster[index].Channel();
                return (await new ControlService.ControlServiceClient(channel).ListAllNodesAsync()).Count(n => n.Connected) == count;
            }
            catch (Grpc.Core.RpcException ex) when (ex.StatusCode is Grpc.Core.StatusCode.Unavailable or Grpc.Core.StatusCode.DeadlineExceeded)
            {
                // A controller busy with thousands of handshakes may not take the admin's connection at once.
                return false;
            }
        }, TimeSpan.FromMinutes(3));
        if (!connected)
        {
            throw new TimeoutException($"not all {count} agents connected");
        }
    }

    /// <summary>CPU seconds so far of PostgreSQL (the server and its backends), the controllers, and this process (the simulated agents).</summary>
    private static (double Postgres, double Controllers, double Agents) Cpu(ControllerCluster cluster)
    {
        var postgres = 0.0;
        foreach (var stat in Directory.EnumerateDirectories("/proc").Select(d => Path.Join(d, "stat")).Where(File.Exists))
        {
            try
            {
                var fields = File.ReadAllText(stat);
                var after = fields[(fields.LastIndexOf(')') + 2)..].Split(' ');
                var pid = int.Parse(Path.GetFileName(Path.GetDirectoryName(stat))!, CultureInfo.InvariantCulture);
                var parent = int.Parse(after[1], CultureInfo.InvariantCulture);
                if (pid == cluster.Postgres.ProcessId || parent == cluster.Postgres.ProcessId)
                {
                    postgres += Ticks(after);
                }
            }
            catch (Exception ex) when (ex is IOException or FormatException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }
        var controllers = cluster.Controllers.OfType<ControllerProcess>().Sum(c => Ticks(File.ReadAllText($"/proc/{c.Pid}/stat") is var text ? text[(text.LastIndexOf(')') + 2)..].Split(' ') : []));
        return (postgres, controllers, Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds);
    }

    /// <summary>utime + stime of a /proc/PID/stat line (fields after the command), in seconds.</summary>
    private static double Ticks(string[] after) =>
        (long.Parse(after[11], CultureInfo.InvariantCulture) + long.Parse(after[12], CultureInfo.InvariantCulture)) / 100.0;
}
