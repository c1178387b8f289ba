using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>grpc-js and grpcio, not Hawser's client, talk to the controller over mTLS with the admin credential.</summary>
[TestClass]
public sealed class IndependentClientTests
{
    [TestMethod]
    public async Task Grpc_js_and_grpcio_list_the_same_nodes_as_hawserctl_and_a_node_certificate_is_refused()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var token = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "token", "create", "--uses", "2", "--labels", "role=web", "-o", "json"]);
        var secret = JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!;
        using var host1 = new AgentHost();
        using var host2 = new AgentHost();
        await using var web1 = AgentProcess.Start(host1, "web1", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash);
        await using var web2 = AgentProcess.Start(host2, "web2", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash);
        await web1.WaitForAsync("connected to");
        await web2.WaitForAsync("connected to");
        using (var admin = controller.Channel())
        {
            for (var i = 0; i < 100 && (await new Shared.Protocol.V1.ControlService.ControlServiceClient(admin).ListNodesAsync(new Shared.Protocol.V1.ListNodesRequest())).Nodes.Count(n => n.Connected) < 2; i++)
            {
                await Task.Delay(100);
            }
        }
        var pki = Path.Combine(data.Path, "pki");

        var js = await ExternalProcess.RunAsync("node", [Path.Combine(RepoPaths.Root, "tests", "interop", "control-client.js"),
            $"127.0.0.1:{controller.Address.Port}", Path.Combine(pki, "ca.crt"), Path.Combine(pki, "admin.crt"), Path.Combine(pki, "admin.key")]);
        var python = await ExternalProcess.RunAsync(InteropPeerServer.DebianPython, [Path.Combine(RepoPaths.Interop, "control-client.py"),
            $"127.0.0.1:{controller.Address.Port}", Path.Combine(pki, "ca.crt"), Path.Combine(pki, "admin.crt"), Path.Combine(pki, "admin.key")]);
        var pythonWithoutAdmin = await ExternalProcess.RunAsync(InteropPeerServer.DebianPython, [Path.Combine(RepoPaths.Interop, "control-client.py"),
            $"127.0.0.1:{controller.Address.Port}", Path.Combine(pki, "ca.crt"), host1.PathOf("/var/lib/hawser/node.crt"), host1.PathOf("/var/lib/hawser/node.key")]);
        var ctl = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "nodes", "-o", "json"]);
        var jsWithoutAdmin = await ExternalProcess.RunAsync("node", [Path.Combine(RepoPaths.Root, "tests", "interop", "control-client.js"),
            $"127.0.0.1:{controller.Address.Port}", Path.Combine(pki, "ca.crt"), host1.PathOf("/var/lib/hawser/node.crt"), host1.PathOf("/var/lib/hawser/node.key")]);

        Assert.AreEqual(0, js.ExitCode, js.Output);
        Assert.AreEqual(0, ctl.ExitCode, ctl.Output);
        string[] Names(string json) => [.. JsonDocument.Parse(json).RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("name").GetString()!)];
        CollectionAssert.AreEqual(Names(ctl.StandardOutput), Names(js.StandardOutput));
        CollectionAssert.AreEqual(new[] { "web1", "web2" }, Names(js.StandardOutput));
        Assert.AreEqual(0, python.ExitCode, python.Output);
        CollectionAssert.AreEqual(Names(ctl.StandardOutput), Names(python.StandardOutput));
        Assert.AreEqual(1, pythonWithoutAdmin.ExitCode, pythonWithoutAdmin.Output);
        StringAssert.Contains(pythonWithoutAdmin.StandardError, "7 node 'web1' may not call the control API");
        var fromJs = JsonDocument.Parse(js.StandardOutput).RootElement.GetProperty("nodes")[0];
        Assert.IsTrue(fromJs.GetProperty("connected").GetBoolean());
        Assert.AreEqual("web", fromJs.GetProperty("labels").GetProperty("role").GetString(), "the token's labels");
        Assert.AreEqual(1, jsWithoutAdmin.ExitCode, jsWithoutAdmin.Output);
        StringAssert.Contains(jsWithoutAdmin.StandardError, "7 node 'web1' may not call the control API");
    }
}
