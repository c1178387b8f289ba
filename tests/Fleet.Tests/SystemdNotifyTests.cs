using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>The agent speaks sd_notify to a real datagram socket: ready once enrolled, stopping on SIGTERM.</summary>
[TestClass]
public sealed class SystemdNotifyTests
{
    [TestMethod]
    public async Task The_agent_says_READY_once_enrolled_and_STOPPING_on_SIGTERM()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var token = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "token", "create", "-o", "json"]);
        var secret = JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!;
        using var host = new AgentHost();
        var socketPath = Path.Combine(data.Path, "notify.sock");
        using var socket = new NotifySocket(socketPath);

        await using var agent = AgentProcess.StartWith(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath },
            host, "web1", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash);
        var ready = await socket.ReceiveAsync();
        Assert.IsTrue(File.Exists(host.PathOf("/var/lib/hawser/node.crt")), "ready comes after enrollment");
        Signals.Terminate(agent.Pid);
        var stopping = await socket.ReceiveAsync();

        StringAssert.StartsWith(ready, "READY=1\n");
        StringAssert.Contains(ready, "STATUS=node web1, controller https://127.0.0.1:");
        Assert.AreEqual("STOPPING=1", stopping);
        Assert.AreEqual(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(20)), agent.Output);
    }

    [TestMethod]
    public async Task The_watchdog_is_pinged_from_the_converge_loop_and_falls_silent_while_a_converge_is_stuck()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var token = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "token", "create", "-o", "json"]);
        var secret = JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!;
        using var host = new AgentHost();
        var restart = new HeldServiceRestart(data.Path);
        host.WriteFile("/etc/hawser/agent.yaml", restart.AgentYaml("ndppd") + "acmeChallenge: {listen: none}\n");
        host.WriteFile("/proc-sys/net/ipv6/conf/lo/proxy_ndp", "0\n");
        var socketPath = Path.Combine(data.Path, "notify.sock");
        using var socket = new NotifySocket(socketPath);
        await using var agent = AgentProcess.StartWith(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "400000" },
            host, "web1", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash, "--proc-sys", host.PathOf("/proc-sys"));
        StringAssert.StartsWith(await socket.ReceiveAsync(), "READY=1");
        Assert.AreEqual("WATCHDOG=1", await socket.ReceiveAsync(), "an idle agent pings");
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, "apiVersion: hawser/v1\nnodes:\n  web1:\n    ndpProxy: {interface: lo, mode: ndppd, rules: [{prefix: \"fd68:6177:0:0:1::/80\", method: static}]}\n");
        Assert.AreEqual(0, (await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "apply", "-f", spec, "--no-wait"])).ExitCode);
        await restart.WaitUntilHeldAsync(() => agent.Output);
        // Pings sent before the converge reached the restart are still queued; after them, silence.
        while (await socket.TryReceiveAsync(TimeSpan.FromSeconds(1)) is not null)
        {
        }

        var whileStuck = await socket.TryReceiveAsync(TimeSpan.FromSeconds(2));
        restart.Release();
        var afterwards = await socket.ReceiveAsync();

        Assert.IsNull(whileStuck, "no ping while the converge is stuck: WatchdogSec would restart the agent");
        Assert.AreEqual("WATCHDOG=1", afterwards, "pings resume once the converge moves on");
    }
}
