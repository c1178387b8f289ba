using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Issue 30's version skew: a controller takes agents from its previous minor version up to its own. This commit's code
/// built as release 0.3.0 stands for a controller two minors ahead of this build (0.1) and for an agent too new for it;
/// each side is refused with the reason in words, the agent says it, and hawserctl shows it.
/// </summary>
[TestClass]
public sealed class AgentVersionSkewTests
{
    private const string Ahead = "0.3.0";

    private static async Task<string> AheadBuildAsync() => await OlderBuild.OfAsync(await OlderBuild.HeadAsync(), Ahead);

    [TestMethod]
    public async Task An_agent_older_than_the_controller_supports_is_refused_told_why_and_shown_in_status()
    {
        var ahead = await AheadBuildAsync();
        using var data = new TempDirectory();
        ControllerProcess controller;
        using (HawserProcesses.UseCheckout(ahead))
        {
            controller = await ControllerProcess.StartAsync(data.Path);
        }
        await using var running = controller;
        var token = await controller.TokenAsync(1);
        using var host = new AgentHost();
        host.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
        await using var agent = AgentProcess.Start(host, "web3", controller.Address, "--join-token", token, "--ca-hash", controller.CaHash);
        const string Problem = "web3: agent 0.1.0 is older than this controller supports (0.2 to 0.3): upgrade it";
        await agent.WaitForAsync("the controller refuses this agent's version: " + Problem);

        // This build's hawserctl against the newer controller (what an operator has before upgrading their own).
        var status = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "status"]);
        Assert.AreEqual(0, status.ExitCode, status.Output);
        StringAssert.Contains(status.StandardOutput, "incompatible", status.Output);
        StringAssert.Contains(status.StandardOutput, Problem, status.Output);
        var check = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "status", "--check"]);
        Assert.AreEqual(1, check.ExitCode, check.Output);
        var json = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "status", "-o", "json"]);
        var node = JsonDocument.Parse(json.StandardOutput).RootElement.GetProperty("nodes")[0];
        Assert.AreEqual("incompatible", node.GetProperty("state").GetString(), json.Output);
        Assert.AreEqual("agent 0.1.0 is older than this controller supports (0.2 to 0.3): upgrade it", node.GetProperty("versionProblem").GetString());
        Assert.IsFalse(node.GetProperty("connected").GetBoolean(), json.Output);
        var detail = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "status", "web3"]);
        StringAssert.Contains(detail.StandardOutput, Problem, detail.Output);
    }

    [TestMethod]
    public async Task An_agent_newer_than_the_controller_is_refused_and_told_to_upgrade_the_controllers_first()
    {
        var ahead = await AheadBuildAsync();
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var token = await controller.TokenAsync(1);
        using var host = new AgentHost();
        host.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
        AgentProcess agent;
        using (HawserProcesses.UseCheckout(ahead))
        {
            agent = AgentProcess.Start(host, "web4", controller.Address, "--join-token", token, "--ca-hash", controller.CaHash);
        }
        await using var running = agent;
        const string Problem = "web4: agent 0.3.0 is newer than this controller supports (0.0 to 0.1): upgrade the controllers first";
        await agent.WaitForAsync("the controller refuses this agent's version: " + Problem);
        var status = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "status"]);
        StringAssert.Contains(status.StandardOutput, Problem, status.Output);
        Assert.IsTrue(controller.Log.Any(l => l.Contains("node 'web4': agent 0.3.0 is newer", StringComparison.Ordinal)), string.Join("\n", controller.Log));
    }
}
