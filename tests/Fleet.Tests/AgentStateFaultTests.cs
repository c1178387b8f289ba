using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>Broken local state on an agent, and two agents with one identity, as the controller and the operator see them.</summary>
[TestClass]
public sealed class AgentStateFaultTests
{
    private const string Spec = "apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n";

    private static void Prepare(string node, AgentHost host) => host.WriteFile("/proc-sys/net/ipv4/tcp_keepalive_time", "7200\n");

    [TestMethod]
    public async Task A_corrupt_desired_revision_is_reported_and_the_controller_sends_the_state_again()
    {
        await using var fleet = await AgentFleet.StartAsync(["web1"], Prepare);
        Assert.AreEqual(0, (await fleet.ApplyAsync("spec.yaml", Spec)).ExitCode);
        await fleet.WaitAppliedAsync(1);
        var host = fleet.Hosts[0];

        File.WriteAllText(host.PathOf("/var/lib/hawser/desired.revision"), "\u0001garbage");
        await fleet.Agents[0].WaitForAsync("the stored desired state is unreadable");
        await Poll.UntilAsync(() => host.ReadFile("/var/lib/hawser/desired.revision") == "1", TimeSpan.FromSeconds(30));

        Assert.AreEqual("1", host.ReadFile("/var/lib/hawser/desired.revision"), fleet.Diagnostics());
        StringAssert.Contains(string.Join("\n", fleet.Controller.Log), "node web1 cannot read its stored desired state", fleet.Diagnostics());
        await fleet.WaitAppliedAsync(1);
    }

    [TestMethod]
    public async Task An_unreadable_state_file_on_a_running_agent_is_a_failed_node_with_the_reason_not_an_unreachable_one()
    {
        await using var fleet = await AgentFleet.StartAsync(["web1"], Prepare);
        Assert.AreEqual(0, (await fleet.ApplyAsync("spec.yaml", Spec)).ExitCode);
        await fleet.WaitAppliedAsync(1);
        var state = fleet.Hosts[0].PathOf("/var/lib/hawser/state.json");

        // The undo records are damaged (a hand edit, a bad restore): nothing may change, and the operator must hear why.
        File.WriteAllText(state, "null");
        var applied = await fleet.ApplyAsync("spec.yaml", Spec.Replace("\"600\"", "\"700\"", StringComparison.Ordinal));

        Assert.AreEqual(1, applied.ExitCode, applied.Output + fleet.Diagnostics());
        StringAssert.Contains(applied.StandardOutput, "web1 : ok=0 changed=0 failed=1 unreachable=0");
        StringAssert.Contains(applied.StandardOutput, $"agent-state:{state}: {state} is not readable state");
        Assert.AreEqual("null", File.ReadAllText(state), "the damaged file is left for the operator");
        Assert.AreEqual("600", fleet.Hosts[0].ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim(), "nothing changed on the host");
    }

    [TestMethod]
    public async Task Two_agents_with_one_identity_are_a_warning_naming_both_addresses()
    {
        await using var fleet = await AgentFleet.StartAsync(["web1"], Prepare);
        using var twin = new AgentHost();
        foreach (var file in new[] { "node.crt", "node.key", "ca.crt" })
        {
            twin.WriteFile($"/var/lib/hawser/{file}", fleet.Hosts[0].ReadFile($"/var/lib/hawser/{file}"));
        }
        twin.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");

        await using var second = AgentProcess.Start(twin, "web1", fleet.Controller.Address, "--proc-sys", twin.PathOf("/proc-sys"));
        await second.WaitForAsync("connected to");
        await Poll.UntilAsync(() => fleet.Controller.Log.Any(l => l.Contains("two agents using one node's identity", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));

        var warning = fleet.Controller.Log.FirstOrDefault(l => l.Contains("two agents using one node's identity", StringComparison.Ordinal));
        Assert.IsNotNull(warning, fleet.Diagnostics());
        StringAssert.Matches(warning, new System.Text.RegularExpressions.Regex(@"^\S+Z warn: "), "a warning, with its time");
        Assert.AreEqual(2, System.Text.RegularExpressions.Regex.Count(warning, @"ipv4:127\.0\.0\.1:\d+"), warning);
    }
}
