using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests.Faults;

/// <summary>
/// One real agent frozen with SIGSTOP (a host thrashing under memory pressure): its HTTP/2 window stays shut while
/// applies send it far more than a window. It delays only itself; the controller closes its stream past its send
/// queue and says so, and it catches up once it is continued.
/// </summary>
[TestClass]
public sealed class FrozenAgentTests
{
    private const int Simulated = 200;

    /// <summary>Every simulated node and the frozen one: the sysctl changes each round; the frozen node also carries a large label (~300 KB of its state).</summary>
    private static string Spec(IReadOnlyList<string> simulated, int round) => SimulatedAgents.Spec(simulated, 600 + round,
        $"  frozen: {{labels: {{role: web, pad: \"{new string((char)('a' + round % 26), 300_000)}\"}}}}\n");

    [TestMethod]
    public async Task A_frozen_agent_delays_only_itself_is_disconnected_past_its_send_queue_and_catches_up_when_continued()
    {
        await using var cluster = await ControllerCluster.StartAsync(1, "--node-send-queue", "512", "--anonymous-rate", "1000");
        await using var fleet = await SimulatedAgents.EnrollAsync(cluster, Simulated);
        var received = await fleet.StartTrackedAsync();
        using var host = new AgentHost();
        host.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
        host.WriteFile("/proc-sys/net/ipv4/tcp_keepalive_time", "7200\n");
        var token = await cluster.TokenAsync(0, 1);
        await using var frozen = AgentProcess.Start(host, "frozen", cluster[0].Address, "--join-token", token, "--ca-hash", cluster[0].CaHash, "--proc-sys", host.PathOf("/proc-sys"));
        await frozen.WaitForAsync("connected to");
        var specFile = Path.Join(host.Root, "spec.yaml");

        Signals.Freeze(frozen.Pid);
        var revisions = new List<ulong>();
        var stalled = false;
        try
        {
            // Each round sends the frozen node ~300 KB; its queue holds 512 KiB beyond what the transport took.
            for (var round = 1; round <= 60 && !stalled; round++)
            {
                File.WriteAllText(specFile, Spec(fleet.Nodes, round));
                var apply = await cluster.CtlAsync(0, "apply", "-f", specFile, "--no-wait", "-o", "json");
                Assert.AreEqual(0, apply.ExitCode, apply.Output + cluster.Diagnostics());
                revisions.Add(JsonDocument.Parse(apply.StandardOutput).RootElement.GetProperty("revision").GetUInt64());
                stalled = cluster[0].Log.Any(l => l.Contains("node frozen (", StringComparison.Ordinal) && l.Contains("stopped taking what is sent", StringComparison.Ordinal));
            }
            Assert.IsTrue(stalled, $"the frozen node's stream was closed past its send queue after {revisions.Count} applies\n{cluster.Diagnostics()}");
            Console.WriteLine($"the frozen node's stream was closed after {revisions.Count} applies");

            // Every other node got every round while the frozen one held nothing up.
            var last = revisions[^1];
            Assert.IsTrue(await Poll.UntilAsync(() => Enumerable.Range(0, Simulated).All(i => received.TryGetValue(i, out var r) && r == last), TimeSpan.FromMinutes(2)),
                $"{Enumerable.Range(0, Simulated).Count(i => received.TryGetValue(i, out var r) && r == last)} of {Simulated} simulated agents got revision {last}");
            // The event is stored just after the log line.
            JsonElement[] stalledEvents = [];
            Assert.IsTrue(await Poll.UntilAsync(async () =>
            {
                var events = await cluster.CtlAsync(0, "events", "--kind", "node.stalled", "-o", "json");
                stalledEvents = events.ExitCode == 0 ? [.. JsonDocument.Parse(events.StandardOutput).RootElement.GetProperty("events").EnumerateArray()] : [];
                return stalledEvents.Length > 0;
            }, TimeSpan.FromSeconds(30)), "a node.stalled event");
            var stalledEvent = stalledEvents.Single();
            Assert.AreEqual("frozen", stalledEvent.GetProperty("node").GetString());
            StringAssert.Contains(stalledEvent.GetProperty("summary").GetString(), "node frozen stopped taking what the controller sends");
        }
        finally
        {
            Signals.Thaw(frozen.Pid);
        }

        // Continued, it reconnects and converges the newest revision.
        var status = await WaitForFrozenAsync(cluster, revisions[^1]);
        Assert.AreEqual((600 + revisions.Count).ToString(System.Globalization.CultureInfo.InvariantCulture), host.ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim(), status);
        Assert.IsFalse(frozen.HasExited, frozen.Output);
    }

    private static async Task<string> WaitForFrozenAsync(ControllerCluster cluster, ulong revision)
    {
        var last = "";
        var caughtUp = await Poll.UntilAsync(async () =>
        {
            var status = await cluster.CtlAsync(0, "status", "-o", "json");
            last = status.Output;
            return status.ExitCode == 0 && JsonDocument.Parse(status.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray()
                .Single(n => n.GetProperty("name").GetString() == "frozen").GetProperty("appliedRevision").GetUInt64() == revision;
        }, TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(1));
        Assert.IsTrue(caughtUp, $"the continued agent applied revision {revision}\n{last}\n{cluster.Diagnostics()}");
        return last;
    }
}
