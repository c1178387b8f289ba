using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Rpc;
using Hawser.Shared.Rpc.Client;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary><c>hawser-controller run</c> as a real process.</summary>
[TestClass]
public sealed class ControllerProcessTests
{
    [TestMethod]
    public async Task Serves_the_control_API_and_stops_cleanly_on_SIGTERM()
    {
        using var temp = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(Path.Combine(temp.Path, "data"));
        using var channel = new RpcChannel(controller.Address);

        var nodes = await channel.UnaryAsync(ControlServiceMethods.ListNodes, new ListNodesRequest());
        var revisions = await channel.UnaryAsync(ControlServiceMethods.ListRevisions, new ListRevisionsRequest());
        var missing = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            channel.UnaryAsync(ControlServiceMethods.GetNode, new GetNodeRequest { Name = "web9" }));
        var notYet = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            channel.UnaryAsync(ControlServiceMethods.ApplySpec, new ApplySpecRequest { SpecYaml = "apiVersion: hawser/v1" }));

        Assert.IsEmpty(nodes.Nodes);
        Assert.IsEmpty(revisions.Revisions);
        Assert.AreEqual(StatusCode.NotFound, missing.StatusCode);
        StringAssert.Contains(missing.Detail, "web9");
        Assert.AreEqual(StatusCode.Unimplemented, notYet.StatusCode);
        Assert.IsTrue(File.Exists(Path.Combine(controller.DataDirectory, "controller.db")));
        Assert.AreEqual(0, await controller.StopAsync());
    }

    [TestMethod]
    public async Task Second_controller_on_the_same_data_directory_exits_3_with_the_reason()
    {
        using var temp = new TempDirectory();
        await using var first = await ControllerProcess.StartAsync(temp.Path);

        var second = await HawserProcesses.RunAsync("hawser-controller", ["run", "--listen", "127.0.0.1:0", "--data", temp.Path]);

        Assert.AreEqual(3, second.ExitCode, second.Output);
        StringAssert.Contains(second.StandardError, "another hawser-controller is already using");
    }

    [TestMethod]
    [DataRow("0.0.0.0:7443", "not a loopback address")]
    [DataRow("localhost", "is not ADDRESS:PORT")]
    [DataRow("127.0.0.1:99999", "is not ADDRESS:PORT")]
    public async Task Bad_listen_address_exits_2_and_creates_nothing(string listen, string reason)
    {
        using var temp = new TempDirectory();
        var data = Path.Combine(temp.Path, "data");

        var result = await HawserProcesses.RunAsync("hawser-controller", ["run", "--listen", listen, "--data", data]);

        Assert.AreEqual(2, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, reason);
        Assert.IsFalse(Directory.Exists(data), "nothing should be created for a command line that is refused");
    }
}
