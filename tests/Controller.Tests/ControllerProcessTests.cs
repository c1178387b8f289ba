using Hawser.Shared.Protocol.V1;
using Grpc.Core;
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
        using var channel = controller.Channel();

        var nodes = await new ControlService.ControlServiceClient(channel).ListNodesAsync(new ListNodesRequest());
        var revisions = await new ControlService.ControlServiceClient(channel).ListRevisionsAsync(new ListRevisionsRequest());
        var missing = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            new ControlService.ControlServiceClient(channel).GetNodeAsync(new GetNodeRequest { Name = "web9" }).ResponseAsync);
        var invalid = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            new ControlService.ControlServiceClient(channel).ApplySpecAsync(new ApplySpecRequest { SpecYaml = "apiVersion: hawser/v1", FileName = "empty.yaml" }).ResponseAsync);

        Assert.IsEmpty(nodes.Nodes);
        Assert.IsEmpty(revisions.Revisions);
        Assert.AreEqual(StatusCode.NotFound, missing.StatusCode);
        StringAssert.Contains(missing.Status.Detail, "web9");
        Assert.AreEqual(StatusCode.InvalidArgument, invalid.StatusCode);
        StringAssert.Contains(invalid.Status.Detail, "empty.yaml:1:1: nodes is missing");
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
    public async Task Run_on_an_uninitialized_directory_exits_5_and_creates_nothing()
    {
        using var temp = new TempDirectory();
        var data = Path.Combine(temp.Path, "data");

        var result = await HawserProcesses.RunAsync("hawser-controller", ["run", "--listen", "127.0.0.1:0", "--data", data]);

        Assert.AreEqual(5, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{data} is not initialized; run `hawser-controller init --data {data}` first");
        Assert.IsFalse(Directory.Exists(data));
    }

    [TestMethod]
    public async Task Init_makes_private_keys_and_refuses_to_run_twice()
    {
        using var temp = new TempDirectory();
        var data = Path.Combine(temp.Path, "data");

        var first = await HawserProcesses.RunAsync("hawser-controller", ["init", "--data", data, "--name", "ctl.example.org", "--address", "10.68.0.1"]);
        var again = await HawserProcesses.RunAsync("hawser-controller", ["init", "--data", data]);

        Assert.AreEqual(0, first.ExitCode, first.Output);
        StringAssert.Contains(first.StandardOutput, "ca-hash   sha256:");
        foreach (var key in new[] { "ca.key", "server.key", "admin.key" })
        {
            Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, "pki", key)), key);
        }
        using var server = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(data, "pki", "server.crt")));
        Assert.IsTrue(server.MatchesHostname("ctl.example.org"));
        Assert.AreEqual(5, again.ExitCode, again.Output);
        StringAssert.Contains(again.StandardError, "already initialized");
    }

    [TestMethod]
    [DataRow("bad name$", "--name 'bad name$': a DNS name is letters, digits and '-'")]
    [DataRow("", "--name '': a DNS name is")]
    public async Task Init_refuses_a_name_that_is_no_DNS_name_and_makes_nothing(string name, string reason)
    {
        using var temp = new TempDirectory();
        var data = Path.Combine(temp.Path, "data");

        var result = await HawserProcesses.RunAsync("hawser-controller", ["init", "--data", data, "--name", name]);

        Assert.AreEqual(64, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, reason);
        Assert.IsFalse(Directory.Exists(Path.Combine(data, "pki")), "no half-made data directory");
    }

    [TestMethod]
    public async Task Init_refuses_a_secrets_key_for_its_own_SQLite_store()
    {
        using var temp = new TempDirectory();
        var data = Path.Combine(temp.Path, "data");

        var result = await HawserProcesses.RunAsync("hawser-controller", ["init", "--data", data, "--secrets-key", "/nonexistent"]);

        Assert.AreEqual(64, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, "--secrets-key /nonexistent joins a controller to a shared store");
        Assert.IsFalse(Directory.Exists(Path.Combine(data, "pki")));
    }

    [TestMethod]
    public async Task Run_refuses_an_acme_ca_file_without_a_certificate_and_a_listen_address_it_cannot_bind_in_one_line()
    {
        using var temp = new TempDirectory();
        var data = Path.Combine(temp.Path, "data");
        Assert.AreEqual(0, (await HawserProcesses.RunAsync("hawser-controller", ["init", "--data", data])).ExitCode);
        var garbage = Path.Combine(temp.Path, "roots.pem");
        File.WriteAllText(garbage, "this is not a certificate\n");
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();

        var roots = await HawserProcesses.RunAsync("hawser-controller", ["run", "--listen", "127.0.0.1:0", "--data", data, "--acme-ca-file", garbage]);
        // 192.0.2.1 (TEST-NET-1) is on no interface here: binding it fails, nothing is sent anywhere.
        var foreign = await HawserProcesses.RunAsync("hawser-controller", ["run", "--listen", "192.0.2.1:7443", "--data", data]);
        var inUse = await HawserProcesses.RunAsync("hawser-controller", ["run", "--listen", $"127.0.0.1:{((System.Net.IPEndPoint)taken.LocalEndpoint).Port}", "--data", data]);

        Assert.AreEqual(64, roots.ExitCode, roots.Output);
        StringAssert.Contains(roots.StandardError, $"--acme-ca-file {garbage}: holds no PEM certificate");
        foreach (var result in new[] { foreign, inUse })
        {
            Assert.AreEqual(4, result.ExitCode, result.Output);
            StringAssert.Contains(result.StandardError, "error: cannot listen on");
            Assert.DoesNotContain("   at ", result.Output, "no stack trace");
            Assert.DoesNotContain("Exception", result.Output);
        }
    }

    [TestMethod]
    [DataRow("localhost", "is not ADDRESS:PORT")]
    [DataRow("127.0.0.1:99999", "is not ADDRESS:PORT")]
    public async Task Bad_listen_address_exits_2_and_creates_nothing(string listen, string reason)
    {
        using var temp = new TempDirectory();
        var data = Path.Combine(temp.Path, "data");

        var result = await HawserProcesses.RunAsync("hawser-controller", ["run", "--listen", listen, "--data", data]);

        Assert.AreEqual(64, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, reason);
        Assert.IsFalse(Directory.Exists(data), "nothing should be created for a command line that is refused");
    }
}
