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
}
