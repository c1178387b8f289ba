using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// The controller and three agents as separate processes, each agent in its own network namespace
/// on a bridge (the controller listens in the hub), real TLS, real /proc/sys per namespace.
/// </summary>
[TestClass]
public sealed class FleetTests
{
    private const string Spec = """
        apiVersion: hawser/v1
        nodes:
          web1: {labels: {role: web}}
          web2: {labels: {role: web}}
          web3: {labels: {role: web}}
        profiles:
          web:
            selector: {role: web}
            sysctls: {net.ipv4.tcp_keepalive_time: "610"}
            ufw: {forwardPolicy: ACCEPT}
        """;

    [TestMethod]
    public async Task Three_agents_converge_drift_is_corrected_and_a_failing_node_fails_alone_then_all_survive_a_controller_restart()
    {
        using var net = await FleetNetwork.CreateAsync();
        using var data = new TempDirectory();
        var controller = await ControllerProcess.StartAsync(data.Path, $"{FleetNetwork.ControllerAddress}:7443", net.Hub);
        try
        {
            var token = await TokenAsync(net, controller, uses: 3);
            var hosts = new List<AgentHost>();
            var agents = new List<AgentProcess>();
            for (var i = 1; i <= 3; i++)
            {
                var host = new AgentHost(await net.AddHostAsync($"web{i}", i));
                host.WriteFile("/etc/default/ufw", "IPV6=yes\nDEFAULT_FORWARD_POLICY=\"DROP\"\n");
                hosts.Add(host);
                agents.Add(AgentProcess.Start(host, $"web{i}", controller.Address, "--join-token", token, "--ca-hash", controller.CaHash));
            }
            foreach (var agent in agents)
            {
                await agent.WaitForAsync("connected to");
            }
            // An agent prints "connected" once its hello is sent; the controller registers it a moment later.
            await WaitForStatusAsync(net, controller, s => s.Count == 3 && s.All(n => n.Connected), "all three connected");

            var apply = await Ctl(net, controller, "apply", "-f", WriteSpec(data.Path, "v1.yaml", Spec), "-m", "keepalive and ufw");
            Assert.AreEqual(0, apply.ExitCode, apply.Output);
            StringAssert.Contains(apply.StandardOutput, "revision 1 stored; pushed to web1, web2, web3");
            // apply waited for the three reports and ends with a recap, a line per node.
            StringAssert.Contains(apply.StandardOutput, "RECAP revision 1\n");
            StringAssert.Matches(apply.StandardOutput, new System.Text.RegularExpressions.Regex(@"web2 : ok=\d+ changed=[1-9]\d* failed=0 unreachable=0\n"));
            var status = await WaitForStatusAsync(net, controller, s => s.All(n => n.State == "in-sync" && n.Applied == 1), "all three in sync at revision 1");
            Assert.HasCount(3, status);
            Assert.AreEqual(0, (await Ctl(net, controller, "status", "--check")).ExitCode, "status --check: every node in sync");
            foreach (var host in hosts)
            {
                Assert.AreEqual("610", await host.Namespace!.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"));
                StringAssert.Contains(host.ReadFile("/etc/default/ufw"), "DEFAULT_FORWARD_POLICY=\"ACCEPT\"");
            }

            // A candidate is dry-run on every node and stored nowhere.
            // web3's candidate also names a key its kernel lacks (net.core.default_qdisc is global, not per namespace).
            var candidate = Spec.Replace("\"610\"", "\"611\"", StringComparison.Ordinal)
                .Replace("web3: {labels: {role: web}}", "web3: {labels: {role: web}, sysctls: {net.core.default_qdisc: fq}}", StringComparison.Ordinal);
            var diff = await Ctl(net, controller, "diff", "-f", WriteSpec(data.Path, "candidate.yaml", candidate));
            Assert.AreEqual(2, diff.ExitCode, diff.Output);
            // Nodes with the same plan print once, together; each target is named once; a summary ends it.
            StringAssert.Contains(diff.StandardOutput, "web1, web2: 2 resource(s) would change\n");
            StringAssert.Contains(diff.StandardOutput, "web3: 2 resource(s) would change, 1 would fail\n", "a failure is counted apart from changes");
            StringAssert.Contains(diff.StandardOutput, "would-change  sysctl:net.ipv4.tcp_keepalive_time 610 -> 611\n");
            StringAssert.Contains(diff.StandardOutput, "would-change  file:/etc/sysctl.d/60-hawser.conf net.ipv4.tcp_keepalive_time: 610 -> 611\n");
            StringAssert.EndsWith(diff.StandardOutput, "3 of 3 node(s) would change (6 resource(s)), 1 would fail, 0 not connected\n");
            Assert.AreEqual(2, System.Text.RegularExpressions.Regex.Count(diff.StandardOutput, "sysctl:net.ipv4.tcp_keepalive_time"), "printed once per group");
            Assert.AreEqual("610", await hosts[0].Namespace!.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"));

            // Someone edits web2's ufw defaults by hand: the agent puts it back and it shows as drift.
            hosts[1].WriteFile("/etc/default/ufw", "IPV6=yes\nDEFAULT_FORWARD_POLICY=\"DROP\"\n");
            await WaitForStatusAsync(net, controller, s => s.Single(n => n.Name == "web2").Drift >= 1, "web2 reports corrected drift");
            StringAssert.Contains(hosts[1].ReadFile("/etc/default/ufw"), "DEFAULT_FORWARD_POLICY=\"ACCEPT\"");
            // The event log holds what was put back, from what to what, with the time and the node as actor.
            var drift = await Ctl(net, controller, "events", "--node", "web2", "--kind", "node.drift-corrected", "-o", "json");
            Assert.AreEqual(0, drift.ExitCode, drift.Output);
            var driftEvent = JsonDocument.Parse(drift.StandardOutput).RootElement.GetProperty("events").EnumerateArray().Single();
            Assert.AreEqual("node:web2", driftEvent.GetProperty("actor").GetString());
            StringAssert.Contains(string.Join("\n", driftEvent.GetProperty("details").EnumerateArray().Select(d => d.GetString())),
                "/etc/default/ufw DEFAULT_FORWARD_POLICY: DROP -> ACCEPT", drift.StandardOutput);
            var applied = JsonDocument.Parse((await Ctl(net, controller, "events", "--kind", "spec.applied", "-o", "json")).StandardOutput).RootElement.GetProperty("events")[0];
            var author = JsonDocument.Parse((await Ctl(net, controller, "revisions", "-o", "json")).StandardOutput).RootElement.GetProperty("revisions")[0].GetProperty("author").GetString();
            Assert.AreEqual(author, applied.GetProperty("actor").GetString(), "the apply is the admin certificate's subject's");
            StringAssert.Contains(applied.GetProperty("summary").GetString(), "revision 1 stored: keepalive and ufw");

            // A key web3 does not have (net.core.* is not visible in a namespace) fails web3 alone.
            var v2 = Spec.Replace("web3: {labels: {role: web}}", "web3: {labels: {role: web}, sysctls: {net.core.default_qdisc: fq, net.ipv4.tcp_keepalive_time: \"610\"}}", StringComparison.Ordinal);
            var second = await Ctl(net, controller, "apply", "-f", WriteSpec(data.Path, "v2.yaml", v2));
            Assert.AreEqual(1, second.ExitCode, "a node failed: exit 1\n" + second.Output);
            StringAssert.Contains(second.StandardOutput, "revision 2 stored; pushed to web3");
            // The recap names the failing node and resource with its error; the nodes revision 2 did not change are not awaited.
            StringAssert.Matches(second.StandardOutput, new System.Text.RegularExpressions.Regex(@"web3 : ok=\d+ changed=\d+ failed=[1-9]\d* unreachable=0\n    sysctl:net.core.default_qdisc: "));
            StringAssert.Contains(second.StandardOutput, "net.core.default_qdisc does not exist here");
            Assert.DoesNotContain("web1 :", second.StandardOutput);
            Assert.AreEqual(1, (await Ctl(net, controller, "status", "--check")).ExitCode, "status --check: a node failed");
            status = await WaitForStatusAsync(net, controller, s => s.Single(n => n.Name == "web3").State == "failed", "web3 failed");
            Assert.IsTrue(status.Where(n => n.Name != "web3").All(n => n.State == "in-sync" && n.Desired == 1), "web1 and web2 were not touched by revision 2");
            var detail = await Ctl(net, controller, "status", "web3", "-o", "json");
            StringAssert.Contains(detail.StandardOutput, "net.core.default_qdisc does not exist here");
            // What web3's agent said about its host: this machine's kernel, and the interfaces of its network namespace.
            var text = await Ctl(net, controller, "status", "web3");
            StringAssert.Contains(text.StandardOutput, $"kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}", text.Output);
            StringAssert.Matches(text.StandardOutput, new System.Text.RegularExpressions.Regex(@"\ninterfaces: .*\blo\b"), text.Output);

            foreach (var agent in agents)
            {
                Assert.IsFalse(agent.HasExited, $"{agent.Node} exited:\n{agent.Output}");
            }

            // The controller restarts: agents reconnect, nothing stored is lost.
            Assert.AreEqual(0, await controller.StopAsync());
            await controller.DisposeAsync();
            controller = await ControllerProcess.StartAsync(data.Path, $"{FleetNetwork.ControllerAddress}:7443", net.Hub);
            try
            {
                status = await WaitForStatusAsync(net, controller, s => s.Count == 3 && s.All(n => n.Connected), "all three reconnected");
            }
            catch (AssertFailedException ex)
            {
                throw new AssertFailedException(ex.Message + "\n" + string.Join("\n", agents.Select(a => $"--- {a.Node}:\n{a.Output}")), ex);
            }
            Assert.AreEqual(2UL, status.Single(n => n.Name == "web3").Desired);
            var revisions = await Ctl(net, controller, "revisions", "-o", "json");
            Assert.AreEqual(2, JsonDocument.Parse(revisions.StandardOutput).RootElement.GetProperty("revisions").GetArrayLength());

            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
            foreach (var host in hosts)
            {
                host.Dispose();
            }
        }
        finally
        {
            await controller.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task An_invalid_spec_is_refused_with_its_location_and_stores_nothing()
    {
        using var net = await FleetNetwork.CreateAsync();
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, $"{FleetNetwork.ControllerAddress}:7443", net.Hub);
        var good = await Ctl(net, controller, "apply", "-f", WriteSpec(data.Path, "good.yaml", Spec));
        Assert.AreEqual(0, good.ExitCode, good.Output);

        foreach (var (body, reason) in new[]
        {
            ("sysctls: {net.ipv4..x: \"1\"}", "is not a dotted name"),
            ("sysctls: {net.ipv4.tcp_keepalive_time: \"1\\n2\"}", "one-line"),
            ("docker: {daemon: {fixedCidrV6: \"10.0.0.0/8\"}}", "is IPv4"),
            ("ndpProxy: {interface: ens3, rules: [{prefix: \"nope/80\"}]}", "is not a CIDR prefix"),
            ("colour: blue", "unknown key 'colour'"),
        })
        {
            var path = WriteSpec(data.Path, "bad.yaml", $"apiVersion: hawser/v1\nnodes:\n  web1:\n    {body}\n");
            var bad = await Ctl(net, controller, "apply", "-f", path);
            Assert.AreEqual(1, bad.ExitCode, bad.Output);
            StringAssert.Contains(bad.StandardError, $"{path}:4:");
            StringAssert.Contains(bad.StandardError, reason);
            StringAssert.Contains(bad.StandardError, "the spec was not stored");
        }
        var revisions = await Ctl(net, controller, "revisions", "-o", "json");
        Assert.AreEqual(1, JsonDocument.Parse(revisions.StandardOutput).RootElement.GetProperty("revisions").GetArrayLength());
    }

    internal sealed record NodeLine(string Name, string State, bool Connected, ulong Desired, ulong Applied, uint Drift);

    internal static Task<ProcessResult> Ctl(FleetNetwork net, ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunInAsync(net.Hub, "hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    internal static async Task<string> TokenAsync(FleetNetwork net, ControllerProcess controller, int uses, string ttl = "01:00:00")
    {
        var result = await Ctl(net, controller, "token", "create", "--uses", uses.ToString(System.Globalization.CultureInfo.InvariantCulture), "--ttl", ttl, "-o", "json");
        Assert.AreEqual(0, result.ExitCode, result.Output);
        return JsonDocument.Parse(result.StandardOutput).RootElement.GetProperty("token").GetString()!;
    }

    internal static string WriteSpec(string directory, string name, string text)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    internal static async Task<List<NodeLine>> WaitForStatusAsync(FleetNetwork net, ControllerProcess controller, Func<List<NodeLine>, bool> done, string what)
    {
        var last = string.Empty;
        for (var i = 0; i < 120; i++)
        {
            var result = await Ctl(net, controller, "status", "-o", "json");
            last = result.Output;
            if (result.ExitCode == 0)
            {
                var nodes = JsonDocument.Parse(result.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray().Select(n => new NodeLine(
                    n.GetProperty("name").GetString()!, n.GetProperty("state").GetString()!, n.GetProperty("connected").GetBoolean(),
                    n.GetProperty("desiredRevision").GetUInt64(), n.GetProperty("appliedRevision").GetUInt64(), n.GetProperty("driftCorrected").GetUInt32())).ToList();
                if (nodes.Count > 0 && done(nodes))
                {
                    return nodes;
                }
            }
            await Task.Delay(500);
        }
        throw new AssertFailedException($"timed out waiting for: {what}; last status: {last}");
    }
}
