using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Hawser.Shared.Protocol.V1;
using Grpc.Core;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>Every way in that must be refused, each refused with a clear status and a log line, changing nothing.</summary>
[TestClass]
public sealed class SecurityTests
{
    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    private static async Task<string> TokenAsync(ControllerProcess controller, int uses = 1, string ttl = "01:00:00") =>
        (await TokenWithExpiryAsync(controller, uses, ttl)).Token;

    private static async Task<(string Token, DateTimeOffset Expires)> TokenWithExpiryAsync(ControllerProcess controller, int uses = 1, string ttl = "01:00:00")
    {
        var result = await Ctl(controller, "token", "create", "--uses", uses.ToString(System.Globalization.CultureInfo.InvariantCulture), "--ttl", ttl, "-o", "json");
        Assert.AreEqual(0, result.ExitCode, result.Output);
        var json = JsonDocument.Parse(result.StandardOutput).RootElement;
        return (json.GetProperty("token").GetString()!, json.GetProperty("expiresAt").GetDateTimeOffset());
    }

    private static async Task<string[]> NodeNamesAsync(ControllerProcess controller)
    {
        using var channel = controller.Channel();
        return [.. (await new ControlService.ControlServiceClient(channel).ListNodesAsync(new ListNodesRequest())).Nodes.Select(n => n.Name)];
    }

    [TestMethod]
    public async Task A_token_past_its_uses_an_expired_token_and_a_revoked_token_are_refused()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var once = await TokenAsync(controller, uses: 1);
        var (brief, briefExpires) = await TokenWithExpiryAsync(controller, ttl: "00:00:01");
        var withdrawn = await TokenAsync(controller, uses: 5);
        var revoke = await Ctl(controller, "token", "revoke", withdrawn);
        Assert.AreEqual(0, revoke.ExitCode, revoke.Output);
        using var first = new AgentHost();
        using var second = new AgentHost();
        using var third = new AgentHost();
        using var fourth = new AgentHost();

        await using (var web1 = AgentProcess.Start(first, "web1", controller.Address, "--join-token", once, "--ca-hash", controller.CaHash))
        {
            await web1.WaitForAsync("enrolled as web1");
        }
        await using var reused = AgentProcess.Start(second, "web2", controller.Address, "--join-token", once, "--ca-hash", controller.CaHash);
        // Wait for the event itself: the brief token's expiry (the controller and the test share this clock).
        await Poll.UntilAsync(() => DateTimeOffset.UtcNow > briefExpires, TimeSpan.FromSeconds(30));
        await using var expired = AgentProcess.Start(third, "web3", controller.Address, "--join-token", brief, "--ca-hash", controller.CaHash);

        Assert.AreEqual(1, await reused.WaitForExitAsync(TimeSpan.FromSeconds(60)), reused.Output);
        StringAssert.Contains(reused.Output, "the join token has no uses left");
        Assert.AreEqual(1, await expired.WaitForExitAsync(TimeSpan.FromSeconds(60)), expired.Output);
        StringAssert.Contains(expired.Output, "the join token has expired");
        await using var revoked = AgentProcess.Start(fourth, "web4", controller.Address, "--join-token", withdrawn, "--ca-hash", controller.CaHash);
        Assert.AreEqual(1, await revoked.WaitForExitAsync(TimeSpan.FromSeconds(60)), revoked.Output);
        StringAssert.Contains(revoked.Output, "the join token was revoked");
        CollectionAssert.AreEqual(new[] { "web1" }, await NodeNamesAsync(controller));
        Assert.IsFalse(File.Exists(second.PathOf("/var/lib/hawser/node.crt")));
        Assert.IsTrue(controller.Log.Any(l => l.Contains("refused", StringComparison.Ordinal) && l.Contains("no uses left", StringComparison.Ordinal)), string.Join("\n", controller.Log));
    }

    [TestMethod]
    public async Task A_wrong_ca_hash_stops_the_agent_before_it_sends_the_token()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var token = await TokenAsync(controller);
        using var host = new AgentHost();
        var wrong = "sha256:" + new string('0', 64);

        await using var agent = AgentProcess.Start(host, "web1", controller.Address, "--join-token", token, "--ca-hash", wrong);

        Assert.AreEqual(1, await agent.WaitForExitAsync(TimeSpan.FromSeconds(60)), agent.Output);
        StringAssert.Contains(agent.Output, $"presents CA {controller.CaHash}, not {wrong}; refusing to enroll");
        Assert.IsEmpty(await NodeNamesAsync(controller));
        // The token was never sent, so it still works with the right hash.
        await using var retry = AgentProcess.Start(host, "web1", controller.Address, "--join-token", token, "--ca-hash", controller.CaHash);
        await retry.WaitForAsync("connected to");
    }

    [TestMethod]
    public async Task A_node_certificate_cannot_speak_for_another_node_nor_use_the_control_api()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var token = await TokenAsync(controller, uses: 2);
        using var host1 = new AgentHost();
        using var host2 = new AgentHost();
        await using (var agent1 = AgentProcess.Start(host1, "web1", controller.Address, "--join-token", token, "--ca-hash", controller.CaHash))
        await using (var agent2 = AgentProcess.Start(host2, "web2", controller.Address, "--join-token", token, "--ca-hash", controller.CaHash))
        {
            await agent1.WaitForAsync("connected to");
            await agent2.WaitForAsync("connected to");
        }
        using var web1Certificate = host1.NodeCertificate();
        using var asWeb1 = controller.Channel(admin: false, clientCertificate: web1Certificate);
        using var anonymous = controller.Channel(admin: false);

        // The refusal may arrive before the hello is written (then the write reports it) or after.
        var denied = await Assert.ThrowsExactlyAsync<RpcException>(() => HelloAsync(asWeb1, "web2", "evil"));
        var nodeOnControl = await Assert.ThrowsExactlyAsync<RpcException>(() => new ControlService.ControlServiceClient(asWeb1).ListNodesAsync(new ListNodesRequest()).ResponseAsync);
        var noCertificate = await Assert.ThrowsExactlyAsync<RpcException>(() => new ControlService.ControlServiceClient(anonymous).ApplySpecAsync(new ApplySpecRequest { SpecYaml = "x" }).ResponseAsync);
        var anonymousAgent = await Assert.ThrowsExactlyAsync<RpcException>(() => HelloAsync(anonymous, "web2", "anonymous"));

        Assert.AreEqual(StatusCode.PermissionDenied, denied.StatusCode);
        StringAssert.Contains(denied.Status.Detail, "this certificate belongs to node 'web1', not 'web2'");
        Assert.AreEqual(StatusCode.PermissionDenied, nodeOnControl.StatusCode);
        Assert.AreEqual(StatusCode.Unauthenticated, noCertificate.StatusCode);
        Assert.AreEqual(StatusCode.Unauthenticated, anonymousAgent.StatusCode);
        using var admin = controller.Channel();
        var web2 = await new ControlService.ControlServiceClient(admin).GetNodeAsync(new GetNodeRequest { Name = "web2" });
        Assert.AreNotEqual("evil", web2.AgentVersion, "the impersonation changed nothing");
        Assert.IsEmpty((await new ControlService.ControlServiceClient(admin).ListRevisionsAsync(new ListRevisionsRequest())).Revisions);
        Assert.IsTrue(controller.Log.Any(l => l.Contains("said hello as 'web2'", StringComparison.Ordinal)), string.Join("\n", controller.Log));
    }

    [TestMethod]
    public async Task A_removed_node_is_revoked_disconnected_and_cannot_come_back_or_re_enroll_by_name_while_enrolled()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var token = await TokenAsync(controller, uses: 3);
        using var host = new AgentHost();
        using var twin = new AgentHost();
        await using var agent = AgentProcess.Start(host, "web1", controller.Address, "--join-token", token, "--ca-hash", controller.CaHash);
        await agent.WaitForAsync("connected to");
        await using (var sameName = AgentProcess.Start(twin, "web1", controller.Address, "--join-token", token, "--ca-hash", controller.CaHash))
        {
            Assert.AreEqual(1, await sameName.WaitForExitAsync(TimeSpan.FromSeconds(60)), sameName.Output);
            StringAssert.Contains(sameName.Output, "node 'web1' is already enrolled");
        }

        var remove = await Ctl(controller, "node", "remove", "web1");

        Assert.AreEqual(0, remove.ExitCode, remove.Output);
        StringAssert.Contains(remove.StandardOutput, "revoked 1 certificate(s)");
        Assert.AreEqual(3, await agent.WaitForExitAsync(TimeSpan.FromSeconds(60)), "a removed node's agent stops\n" + agent.Output);
        StringAssert.Contains(agent.Output, "was removed from the controller");
        Assert.IsEmpty(await NodeNamesAsync(controller), "a revoked agent's reconnects do not bring the node back");
        using var revoked = host.NodeCertificate();
        using var channel = controller.Channel(admin: false, clientCertificate: revoked);
        var renew = await Assert.ThrowsExactlyAsync<RpcException>(() => new EnrollmentService.EnrollmentServiceClient(channel).RenewAsync(new RenewRequest()).ResponseAsync);
        Assert.AreEqual(StatusCode.PermissionDenied, renew.StatusCode);
    }

    [TestMethod]
    public async Task The_agent_renews_its_certificate_at_two_thirds_of_its_life_and_stays_connected()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--node-certificate-lifetime", "00:00:09");
        var token = await TokenAsync(controller);
        using var host = new AgentHost();
        await using var agent = AgentProcess.Start(host, "web1", controller.Address, "--join-token", token, "--ca-hash", controller.CaHash);
        await agent.WaitForAsync("connected to");
        string first;
        using (var enrolled = host.NodeCertificate())
        {
            first = enrolled.SerialNumber;
        }

        await agent.WaitForAsync("certificate renewed", TimeSpan.FromSeconds(30));

        using var renewed = host.NodeCertificate();
        Assert.AreNotEqual(first, renewed.SerialNumber);
        using var channel = controller.Channel(admin: false, clientCertificate: renewed);
        using var stream = new AgentService.AgentServiceClient(channel).Connect();
        await stream.RequestStream.WriteAsync(new AgentMessage { Hello = new Hello { NodeName = "web1", AgentVersion = BuildVersion.Current } });
        await stream.RequestStream.CompleteAsync();
        Assert.IsFalse(await stream.ResponseStream.MoveNext(CancellationToken.None), "the renewed certificate is accepted");
    }

    /// <summary>Opens an agent stream, says hello, and reads the first answer.</summary>
    private static async Task HelloAsync(Grpc.Net.Client.GrpcChannel channel, string node, string version)
    {
        using var stream = new AgentService.AgentServiceClient(channel).Connect();
        try
        {
            await stream.RequestStream.WriteAsync(new AgentMessage { Hello = new Hello { NodeName = node, AgentVersion = version } });
        }
        catch (RpcException)
        {
            // The refusal ended the stream while the hello was being written (the write then says only Cancelled):
            // the response carries the controller's status.
        }
        await stream.ResponseStream.MoveNext(CancellationToken.None);
    }

}
