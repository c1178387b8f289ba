using Hawser.Shared.Protocol;
using System.Diagnostics;
using System.Globalization;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Benchmarks;

/// <summary>
/// Whole-system: a real controller and ten real agents. Each round applies a new revision either
/// pushed to all at once or rolled out in batches of 2 with no pauses, and times from the
/// ApplySpec call until every node reports it applied (all at once) or the rollout is done.
/// </summary>
public static class RolloutBenchmark
{
    /// <summary>Runs <paramref name="rounds"/> rounds of each, alternating.</summary>
    public static async Task<int> RunAsync(int rounds)
    {
        var nodes = Enumerable.Range(1, 10).Select(i => $"node{i:00}").ToArray();
        await using var fleet = await AgentFleet.StartAsync(nodes, (_, host) => host.WriteFile("/proc-sys/net/ipv4/tcp_keepalive_time", "7200\n"));
        using var admin = fleet.Controller.Channel();
        var allAtOnce = new List<double>();
        var rolled = new List<double>();
        var value = 600;
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var rollout in new[] { false, true })
            {
                var spec = "apiVersion: hawser/v1\nnodes:\n" + string.Concat(nodes.Select(n => $"  {n}: {{labels: {{role: web}}}}\n"))
                    + $"profiles:\n  web:\n    selector: {{role: web}}\n    sysctls: {{net.ipv4.tcp_keepalive_time: \"{value++}\"}}\n";
                var request = new ApplySpecRequest { SpecYaml = spec, FileName = "bench.yaml", Message = $"round {round}" };
                if (rollout)
                {
                    request.Rollout = new RolloutOptions { Batch = "2" };
                }
                var clock = Stopwatch.StartNew();
                var applied = await new ControlService.ControlServiceClient(admin).ApplySpecAsync(request);
                if (rollout)
                {
                    while ((await new ControlService.ControlServiceClient(admin).GetRolloutAsync(new GetRolloutRequest { Id = applied.RolloutId })).State != "done")
                    {
                        await Task.Delay(10);
                    }
                }
                else
                {
                    while ((await new ControlService.ControlServiceClient(admin).ListAllNodesAsync()).Any(n => n.AppliedRevision != applied.Revision))
                    {
                        await Task.Delay(10);
                    }
                }
                (rollout ? rolled : allAtOnce).Add(clock.Elapsed.TotalMilliseconds);
                Console.WriteLine($"round {round}: {(rollout ? "rollout, batches of 2" : "all at once")}: {clock.Elapsed.TotalMilliseconds:0} ms");
            }
        }
        static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median: all_at_once_ms={Median(allAtOnce):0} rollout_batches_of_2_ms={Median(rolled):0} ratio={Median(rolled) / Median(allAtOnce):0.00}"));
        return 0;
    }
}
