using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests.Faults;

/// <summary>A node cut off from the controller (its namespace's link down) while a revision is pushed: nothing is lost when the link returns.</summary>
[TestClass]
public sealed class PartitionTests
{
    private static string Spec(string keepalive) => $$$"""
        apiVersion: hawser/v1
        nodes:
          web1: {labels: {role: web}}
          web2: {labels: {role: web}}
        profiles:
          web:
            selector: {role: web}
            sysctls: {net.ipv4.tcp_keepalive_time: "{{{keepalive}}}"}
        """;

    [TestMethod]
    public Task A_node_cut_off_during_a_push_converges_to_the_revision_once_the_link_returns() =>
        WithTwoNodesAtRevisionOneAsync(async (net, controller, data, hosts) =>
        {
            await hosts[1].Namespace!.ExecAsync("ip", "link", "set", "eth0", "down");
            var apply = await FleetTests.Ctl(net, controller, "apply", "-f", FleetTests.WriteSpec(data.Path, "v2.yaml", Spec("620")), "--no-wait");
            Assert.AreEqual(0, apply.ExitCode, apply.Output);
            await FleetTests.WaitForStatusAsync(net, controller, s => s.Single(n => n.Name == "web1").Applied == 2, "web1 at revision 2");
            var cutOff = await hosts[1].Namespace!.ReadSysctlAsync("net.ipv4.tcp_keepalive_time");
            await hosts[1].Namespace!.ExecAsync("ip", "link", "set", "eth0", "up");

            var healed = await FleetTests.WaitForStatusAsync(net, controller, s => s.All(n => n.Applied == 2 && n.State == "in-sync"), "both at revision 2 after the link returned");

            Assert.AreEqual("610", cutOff, "the cut-off node kept revision 1 meanwhile");
            Assert.AreEqual("620", await hosts[1].Namespace!.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"));
            Assert.IsTrue(healed.All(n => n.Connected));
        });

    [TestMethod]
    public Task A_node_cut_off_during_a_rollout_fails_its_gate_and_gets_the_revision_after_the_link_returns() =>
        WithTwoNodesAtRevisionOneAsync(async (net, controller, data, hosts) =>
        {
            await hosts[1].Namespace!.ExecAsync("ip", "link", "set", "eth0", "down");

            var started = await FleetTests.Ctl(net, controller, "apply", "-f", FleetTests.WriteSpec(data.Path, "v2.yaml", Spec("620")),
                "--rollout", "--batch", "1", "--gate-timeout", "3s", "-o", "json");
            Assert.AreEqual(0, started.ExitCode, started.Output);
            var id = JsonDocument.Parse(started.StandardOutput).RootElement.GetProperty("rolloutId").GetUInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
            var paused = await WaitRolloutAsync(net, controller, id, "paused");
            StringAssert.Contains(paused.GetProperty("reason").GetString(), "web2:");
            Assert.AreEqual("610", await hosts[1].Namespace!.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"));

            await hosts[1].Namespace!.ExecAsync("ip", "link", "set", "eth0", "up");
            await FleetTests.WaitForStatusAsync(net, controller, s => s.All(n => n.Applied == 2), "web2 gets revision 2 once its link returns");
            var resumed = await FleetTests.Ctl(net, controller, "rollout", "resume", id);
            Assert.AreEqual(0, resumed.ExitCode, resumed.Output);
            await WaitRolloutAsync(net, controller, id, "done");

            Assert.AreEqual("620", await hosts[1].Namespace!.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"));
        });

    /// <summary>
    /// A controller in the hub and two agents, web1 and web2, each in its own namespace on the bridge, both at
    /// revision 1; then <paramref name="scenario"/>, with every log attached when an assertion fails.
    /// </summary>
    private static async Task WithTwoNodesAtRevisionOneAsync(Func<FleetNetwork, ControllerProcess, TempDirectory, List<AgentHost>, Task> scenario)
    {
        using var net = await FleetNetwork.CreateAsync();
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, $"{FleetNetwork.ControllerAddress}:7443", net.Hub);
        var hosts = new List<AgentHost>();
        var agents = new List<AgentProcess>();
        try
        {
            var token = await FleetTests.TokenAsync(net, controller, uses: 2);
            for (var i = 1; i <= 2; i++)
            {
                var host = new AgentHost(await net.AddHostAsync($"part{i}", i));
                hosts.Add(host);
                agents.Add(AgentProcess.Start(host, $"web{i}", controller.Address, "--join-token", token, "--ca-hash", controller.CaHash));
            }
            foreach (var agent in agents)
            {
                await agent.WaitForAsync("connected to");
            }
            Assert.AreEqual(0, (await FleetTests.Ctl(net, controller, "apply", "-f", FleetTests.WriteSpec(data.Path, "v1.yaml", Spec("610")))).ExitCode);
            await FleetTests.WaitForStatusAsync(net, controller, s => s.Count == 2 && s.All(n => n.Applied == 1), "both at revision 1");
            await scenario(net, controller, data, hosts);
        }
        catch (AssertFailedException ex)
        {
            throw new AssertFailedException(ex.Message + "\n" + string.Join("\n", controller.Log) + "\n" + string.Join("\n", agents.Select(a => $"--- {a.Node}:\n{a.Output}")), ex);
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
            foreach (var host in hosts)
            {
                host.Dispose();
            }
        }
    }

    private static async Task<JsonElement> WaitRolloutAsync(FleetNetwork net, ControllerProcess controller, string id, string state)
    {
        var last = "";
        JsonElement rollout = default;
        var reached = await Poll.UntilAsync(async () =>
        {
            var status = await FleetTests.Ctl(net, controller, "rollout", "status", id, "-o", "json");
            last = status.Output;
            if (status.ExitCode is not (0 or 1))
            {
                return false;
            }
            rollout = JsonDocument.Parse(status.StandardOutput).RootElement;
            return rollout.GetProperty("state").GetString() == state;
        }, TimeSpan.FromMinutes(1));
        return reached ? rollout : throw new AssertFailedException($"rollout {id} never became {state}; last: {last}");
    }
}
