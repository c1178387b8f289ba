using Grpc.Health.V1;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests.Faults;

/// <summary>
/// A controller never serves a broken store as healthy: corrupt, emptied, read-only and unreadable
/// stores stop it at start with exit 3 and the cause, before "ready", and change nothing.
/// </summary>
[TestClass]
public sealed class StoreFaultTests
{
    private static Task<ProcessResult> Controller(params string[] arguments) => HawserProcesses.RunAsync("hawser-controller", arguments);

    private static async Task<string> InitializedAsync(TempDirectory temp)
    {
        var data = Path.Combine(temp.Path, "data");
        var init = await Controller("init", "--data", data);
        Assert.AreEqual(0, init.ExitCode, init.Output);
        // A store with content: one stored revision.
        await using (var controller = await ControllerProcess.StartAsync(data))
        {
            var spec = Path.Combine(temp.Path, "spec.yaml");
            File.WriteAllText(spec, "apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");
            var applied = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "apply", "-f", spec]);
            Assert.AreEqual(0, applied.ExitCode, applied.Output);
        }
        return data;
    }

    [TestMethod]
    public async Task A_store_with_random_pages_refuses_to_start_and_check_names_the_damage()
    {
        using var temp = new TempDirectory();
        var data = await InitializedAsync(temp);
        var database = Path.Combine(data, "controller.db");
        var sound = await Controller("check", "--data", data);
        using (var file = new FileStream(database, FileMode.Open, FileAccess.ReadWrite))
        {
            // Every page after the header page gets garbage: the tables' b-trees are gone.
            var garbage = new byte[file.Length - 4096];
            new Random(14).NextBytes(garbage);
            file.Position = 4096;
            file.Write(garbage);
        }
        var before = File.ReadAllBytes(database);

        var run = await Controller("run", "--listen", "127.0.0.1:0", "--data", data);
        var check = await Controller("check", "--data", data);

        Assert.AreEqual(0, sound.ExitCode, sound.Output);
        StringAssert.Contains(sound.StandardOutput, $"{database}: ok");
        Assert.AreEqual(3, run.ExitCode, run.Output);
        Assert.DoesNotContain("   at ", run.Output, "one line, no stack trace");
        StringAssert.Contains(run.StandardError, $"the store {database} is corrupt");
        Assert.DoesNotContain("ready", run.StandardOutput);
        Assert.AreEqual(3, check.ExitCode, check.Output);
        Assert.DoesNotContain("   at ", check.Output);
        StringAssert.Contains(check.StandardError, "is corrupt");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(database), "a refused start changes nothing");
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public async Task An_initialized_directory_whose_store_is_empty_or_missing_refuses_to_start(bool empty)
    {
        using var temp = new TempDirectory();
        var data = await InitializedAsync(temp);
        var database = Path.Combine(data, "controller.db");
        File.Delete(database);
        if (empty)
        {
            File.WriteAllBytes(database, []);
        }

        var run = await Controller("run", "--listen", "127.0.0.1:0", "--data", data);
        var check = await Controller("check", "--data", data);

        Assert.AreEqual(3, check.ExitCode, check.Output);
        Assert.DoesNotContain("   at ", check.Output);
        StringAssert.Contains(check.StandardError, empty ? "the store was lost" : "there is no store at");
        Assert.AreEqual(3, run.ExitCode, run.Output);
        Assert.DoesNotContain("   at ", run.Output, "one line, no stack trace");
        StringAssert.Contains(run.StandardError, $"{database} is {(empty ? "empty" : "missing")}, but {data}/pki holds this controller's CA: the store was lost");
        StringAssert.Contains(run.StandardError, "restore controller.db from a backup");
        Assert.AreEqual(empty, File.Exists(database), "nothing is created in its place");
        if (empty)
        {
            Assert.AreEqual(0, new FileInfo(database).Length);
        }
    }

    [TestMethod]
    public async Task A_read_only_data_directory_exits_3_naming_the_cause()
    {
        using var temp = new TempDirectory();
        var data = await InitializedAsync(temp);
        var mounted = Path.Combine(temp.Path, "ro");
        Directory.CreateDirectory(mounted);
        using var disk = await TmpfsMount.MountAsync(mounted, "16m");
        await ExternalProcess.RunAsync("cp", ["-a", data + "/.", mounted]);
        await disk.RemountAsync(readOnly: true);

        var run = await Controller("run", "--listen", "127.0.0.1:0", "--data", mounted);

        Assert.AreEqual(3, run.ExitCode, run.Output);
        Assert.DoesNotContain("   at ", run.Output, "one line, no stack trace");
        StringAssert.Contains(run.StandardError, $"cannot write in {mounted}: Read-only file system");
        Assert.DoesNotContain("ready", run.StandardOutput);
    }

    [TestMethod]
    public async Task A_data_directory_the_user_cannot_read_exits_3_not_5()
    {
        using var temp = new TempDirectory();
        var data = await InitializedAsync(temp);
        File.SetUnixFileMode(temp.Path, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // As nobody, who can reach the directory but not read it.
        var run = await ExternalProcess.RunAsync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "dotnet", HawserProcesses.DllPath("hawser-controller"),
            "run", "--listen", "127.0.0.1:0", "--data", data], environment: new Dictionary<string, string> { ["HOME"] = "/tmp", ["DOTNET_CLI_HOME"] = "/tmp" });

        Assert.AreEqual(3, run.ExitCode, run.Output);
        Assert.DoesNotContain("   at ", run.Output, "one line, no stack trace");
        StringAssert.Contains(run.StandardError, $"cannot read the data directory {data}");
    }

    [TestMethod]
    public async Task Check_reads_a_store_while_its_controller_serves()
    {
        using var temp = new TempDirectory();
        var data = Path.Combine(temp.Path, "data");
        await using var controller = await ControllerProcess.StartAsync(data);

        var check = await Controller("check", "--data", data);
        using var channel = controller.Channel(admin: false);
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());

        Assert.AreEqual(0, check.ExitCode, check.Output);
        Assert.AreEqual(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }
}
