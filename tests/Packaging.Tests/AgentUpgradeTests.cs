using System.Security.Cryptography;
using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Packaging.Tests;

/// <summary>
/// Issue 30's switch, with real release builds: the agent of release A (the shared build) runs from its own copy, release B
/// (this code built as 0.0.2-b and signed with the same key) is published, and the spec naming B moves it: a trial start of B,
/// then B in place of A with A kept as .previous, in the same process. A release C that cannot start (B cut short, validly
/// signed) fails its trial: the node stays on B, says why, and its binary is untouched.
/// </summary>
[TestClass]
public sealed class AgentUpgradeTests
{
    private const string B = "0.0.2-b";

    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    private static string Sha(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static async Task<JsonElement> NodeAsync(ControllerProcess controller, string node)
    {
        var status = await Ctl(controller, "status", node, "-o", "json");
        Assert.AreEqual(0, status.ExitCode, status.Output);
        return JsonDocument.Parse(status.StandardOutput).RootElement.Clone();
    }

    private static async Task ApplyAsync(ControllerProcess controller, string directory, string version)
    {
        var spec = Path.Combine(directory, "spec.yaml");
        File.WriteAllText(spec, $"apiVersion: hawser/v1\nnodes:\n  web1: {{agent: {{version: \"{version}\"}}, sysctls: {{net.ipv4.tcp_keepalive_time: \"600\"}}}}\n");
        var applied = await Ctl(controller, "apply", "-f", spec, "--wait-timeout", "2s");
        // Stored and pushed (the agents report later): apply's own refusals end in 1 with nothing on stdout.
        StringAssert.Contains(applied.StandardOutput, "revision", applied.Output);
    }

    [TestMethod]
    public async Task A_published_release_is_tried_then_switched_to_in_place_and_one_that_cannot_start_leaves_the_node_as_it_was()
    {
        var releaseB = await ReleaseBuild.OtherVersionAsync(B);
        var binaryB = Path.Combine(releaseB, "linux-x64", "hawser-agent");
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--release-key", ReleaseBuild.PublicKey);
        var published = await Ctl(controller, "agent", "publish", releaseB);
        Assert.AreEqual(0, published.ExitCode, published.Output);

        // Release A from a copy of its own (the switch writes beside the binary it runs from).
        using var bin = new TempDirectory("hawser-agent-bin-");
        var current = Path.Combine(bin.Path, "hawser-agent");
        File.Copy(await ReleaseBuild.AgentAsync("x64"), current);
        File.SetUnixFileMode(current, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var shaA = Sha(current);
        using var host = new AgentHost();
        host.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
        host.WriteFile("/proc-sys/net/ipv4/tcp_keepalive_time", "7200\n");
        await using var agent = AgentProcess.StartBinary(current, host, "web1", controller.Address, "--join-token", await controller.TokenAsync(1),
            "--ca-hash", controller.CaHash, "--proc-sys", host.PathOf("/proc-sys"));
        await agent.WaitForAsync("connected to");
        var pid = agent.Pid;
        Assert.AreEqual(ReleaseBuild.Version, (await NodeAsync(controller, "web1")).GetProperty("agentVersion").GetString());

        await ApplyAsync(controller, data.Path, B);
        string? last = null;
        var moved = await Poll.UntilAsync(async () =>
        {
            var node = (await NodeAsync(controller, "web1"));
            last = node.ToString();
            return node.GetProperty("agentVersion").GetString() == B && node.GetProperty("state").GetString() == "in-sync";
        }, TimeSpan.FromMinutes(3));
        Assert.IsTrue(moved, $"web1 did not come to {B} in sync; last: {last}\n{agent.Output}");
        Assert.AreEqual(Sha(binaryB), Sha(current), "the binary web1 runs from is B's");
        Assert.AreEqual(shaA, Sha(current + ".previous"), "A is kept as .previous");
        Assert.IsFalse(File.Exists(current + ".next"));
        Assert.AreEqual(pid, agent.Pid);
        Assert.IsFalse(agent.HasExited, agent.Output);
        StringAssert.Contains(agent.Output, $"switched agent {ReleaseBuild.Version} to {B}", agent.Output);
        Assert.AreEqual("600", File.ReadAllText(host.PathOf("/proc-sys/net/ipv4/tcp_keepalive_time")).Trim(), "the rest of the spec applied too");

        // Release C: B cut short (its ELF header intact), signed by the release key. Its trial fails; web1 stays on B.
        using var releaseC = new TempDirectory("hawser-release-c-");
        var dirC = Path.Combine(releaseC.Path, "linux-x64");
        Directory.CreateDirectory(dirC);
        var binaryC = Path.Combine(dirC, "hawser-agent");
        File.WriteAllBytes(binaryC, File.ReadAllBytes(binaryB)[..(64 * 1024)]);
        File.WriteAllText(binaryC + ".release", $"hawser-agent release\nversion: 0.0.3-c\narch: x64\nsize: {new FileInfo(binaryC).Length}\nsha256: {Sha(binaryC)}\n");
        var signed = await ExternalProcess.RunAsync("openssl", ["pkeyutl", "-sign", "-rawin", "-inkey", ReleaseBuild.SigningKey, "-in", binaryC + ".release", "-out", binaryC + ".release.sig"],
            TimeSpan.FromSeconds(30));
        Assert.AreEqual(0, signed.ExitCode, signed.Output);
        Assert.AreEqual(0, (await Ctl(controller, "agent", "publish", releaseC.Path)).ExitCode);
        await ApplyAsync(controller, data.Path, "0.0.3-c");
        string error = "";
        var failed = await Poll.UntilAsync(async () =>
        {
            var detail = await NodeAsync(controller, "web1");
            error = detail.GetProperty("detail").EnumerateArray().FirstOrDefault(r => r.GetProperty("kind").GetString() == "agent") is { ValueKind: JsonValueKind.Object } r
                ? r.GetProperty("error").GetString()! : "";
            return error.Contains("the trial start failed", StringComparison.Ordinal);
        }, TimeSpan.FromMinutes(3));
        Assert.IsTrue(failed, $"web1 never reported the failed trial; last error «{error}»\n{agent.Output}");
        StringAssert.Contains(error, $"still running {B}", error);
        Assert.AreEqual(Sha(binaryB), Sha(current), "the binary is still B's");
        Assert.IsFalse(File.Exists(current + ".next"));
        Assert.AreEqual(pid, agent.Pid);
        var node = (await NodeAsync(controller, "web1"));
        Assert.AreEqual(B, node.GetProperty("agentVersion").GetString());
        Assert.IsTrue(node.GetProperty("connected").GetBoolean(), "web1 reconnected after the trial");
    }
}
