using System.Text.Json;
using Hawser.Controller.Store;
using Hawser.TestSupport;
using Microsoft.Data.Sqlite;

namespace Hawser.Packaging.Tests;

/// <summary>
/// Issue 30's download: the release agent (NativeAOT, the test's key built in) asks the controller for the release its spec
/// names, over its own stream, and keeps it only once the signature, the architecture and the SHA-256 check out. Other
/// releases are made from the same binary with manifests the test's key signs, so the trial start that follows a download
/// finds a binary that is not the version its manifest says, and fails saying so (AgentUpgradeTests switches for real).
/// </summary>
[TestClass]
public sealed class AgentReleaseDownloadTests
{
    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    /// <summary>Publishes the release build's x64 agent as <paramref name="version"/> (its manifest re-signed with the test's key).</summary>
    private static async Task PublishAsAsync(ControllerProcess controller, string version)
    {
        using var release = new TempDirectory("hawser-release-as-");
        await ReleaseBuild.WriteSignedReleaseAsync(release.Path, File.ReadAllBytes(await ReleaseBuild.AgentAsync("x64")), version);
        var published = await Ctl(controller, "agent", "publish", release.Path);
        Assert.AreEqual(0, published.ExitCode, published.Output);
    }

    private static async Task<ProcessResult> ApplyAsync(ControllerProcess controller, string directory, string nodes)
    {
        var spec = Path.Combine(directory, "spec.yaml");
        File.WriteAllText(spec, "apiVersion: hawser/v1\nnodes:\n" + nodes);
        return await Ctl(controller, "apply", "-f", spec, "--wait-timeout", "5s");
    }

    /// <summary>Waits until <paramref name="node"/>'s last report has its agent:release resource failed with an error containing <paramref name="text"/>; returns the error.</summary>
    private static async Task<string> AgentErrorAsync(ControllerProcess controller, string node, string text)
    {
        var last = "";
        var found = await Poll.UntilAsync(async () =>
        {
            var status = await Ctl(controller, "status", node, "-o", "json");
            last = status.Output;
            return status.ExitCode == 0 && JsonDocument.Parse(status.StandardOutput).RootElement.GetProperty("detail").EnumerateArray()
                .Any(r => r.GetProperty("kind").GetString() == "agent" && r.GetProperty("error").GetString()!.Contains(text, StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(120));
        Assert.IsTrue(found, $"{node} never reported agent:release failing with «{text}»; last status:\n{last}");
        return JsonDocument.Parse((await Ctl(controller, "status", node, "-o", "json")).StandardOutput).RootElement.GetProperty("detail").EnumerateArray()
            .First(r => r.GetProperty("kind").GetString() == "agent").GetProperty("error").GetString()!;
    }

    [TestMethod]
    public async Task The_release_agent_fetches_the_release_its_spec_names_verified_and_refuses_what_does_not_check_out()
    {
        // A copy of its own: a trial writes beside the binary the agent runs from.
        using var bin = new TempDirectory("hawser-agent-bin-");
        var agentBinary = Path.Combine(bin.Path, "hawser-agent");
        File.Copy(await ReleaseBuild.AgentAsync("x64"), agentBinary);
        var sha = ReleaseBuild.Sha256Of(agentBinary);
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--release-key", ReleaseBuild.PublicKey);
        await PublishAsAsync(controller, "0.0.2-b");
        var token = await controller.TokenAsync(2);
        using var web1 = new AgentHost();
        using var web2 = new AgentHost();
        web1.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
        // web2 pins a release key of its own: what the controller serves is not signed by it.
        using var keys = new TempDirectory("hawser-other-key-");
        var otherKey = Path.Combine(keys.Path, "other.key");
        await ReleaseBuild.MakeKeyAsync(otherKey);
        var otherPublic = Shared.Releases.ReleaseKey.Parse(File.ReadAllText(Path.ChangeExtension(otherKey, ".pub")));
        web2.WriteFile("/etc/hawser/agent.yaml", $"acmeChallenge: {{listen: none}}\nreleaseKey: {otherPublic.Base64}\n");
        await using var agent1 = AgentProcess.StartBinary(agentBinary, web1, "web1", controller.Address, "--join-token", token, "--ca-hash", controller.CaHash, "--proc-sys", web1.PathOf("/proc-sys"));
        await using var agent2 = AgentProcess.StartBinary(agentBinary, web2, "web2", controller.Address, "--join-token", token, "--ca-hash", controller.CaHash, "--proc-sys", web2.PathOf("/proc-sys"));
        await agent1.WaitForAsync("connected to");
        await agent2.WaitForAsync("connected to");

        // A version never published, and one outside what the controller takes: refused at apply, with each node named.
        var unpublished = await ApplyAsync(controller, data.Path, "  web1: {agent: {version: \"0.0.9\"}}\n");
        Assert.AreEqual(1, unpublished.ExitCode, unpublished.Output);
        StringAssert.Contains(unpublished.StandardError, "node 'web1': agent: release 0.0.9 is not published for x64", unpublished.Output);
        var tooNew = await ApplyAsync(controller, data.Path, "  web1: {agent: {version: \"9.0.0\"}}\n  web2: {agent: {version: \"9.0.0\"}}\n");
        Assert.AreEqual(1, tooNew.ExitCode, tooNew.Output);
        StringAssert.Contains(tooNew.StandardError, "node 'web1': agent: release 9.0.0 is outside what this controller supports (0.0 to 0.1)", tooNew.Output);
        StringAssert.Contains(tooNew.StandardError, "node 'web2': agent: release 9.0.0", tooNew.Output);

        static string Peak(AgentProcess agent) => File.ReadAllLines($"/proc/{agent.Pid}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)).Split(':')[1].Trim();
        var peakBefore = Peak(agent1);
        // Published: web1 downloads it and keeps exactly the signed bytes; web2's pinned key refuses it before a byte is written.
        var applied = await ApplyAsync(controller, data.Path, "  web1: {agent: {version: \"0.0.2-b\"}}\n  web2: {agent: {version: \"0.0.2-b\"}}\n");
        Assert.AreNotEqual(64, applied.ExitCode, applied.Output);
        var error = await AgentErrorAsync(controller, "web1", "the trial start failed");
        StringAssert.Contains(error, $"the new binary says it is {ReleaseBuild.Version}, not 0.0.2-b; still running {ReleaseBuild.Version}", error);
        var staged = web1.PathOf("/var/lib/hawser/agent/hawser-agent-0.0.2-b");
        // A figure for tests/Benchmarks/README.md, not an assertion: the agent's peak RSS around a download of the whole binary.
        Console.WriteLine($"figure: web1 peak RSS (VmHWM) {peakBefore} before, {Peak(agent1)} after downloading {new FileInfo(staged).Length / 1048576.0:0.0} MiB");
        Assert.AreEqual(sha, ReleaseBuild.Sha256Of(staged), "the verified download is the signed bytes");
        Assert.AreEqual(sha, ReleaseBuild.Sha256Of(agentBinary), "the binary web1 runs from is untouched");
        Assert.IsFalse(File.Exists(agentBinary + ".next"));
        var refused = await AgentErrorAsync(controller, "web2", "refused");
        StringAssert.Contains(refused, $"the release's signature does not verify with release key {otherPublic.Fingerprint}; nothing written", refused);
        Assert.IsFalse(Directory.Exists(web2.PathOf("/var/lib/hawser/agent")) && Directory.EnumerateFileSystemEntries(web2.PathOf("/var/lib/hawser/agent")).Any(),
            "web2 wrote something of a release it refused");

        // A store whose chunk was changed after publication (a tampered database): the bytes do not hash to the signed
        // SHA-256, and nothing of them is kept.
        await PublishAsAsync(controller, "0.0.3-c");
        await using (var store = new SqliteConnection($"Data Source={Path.Join(data.Path, ControllerStore.DatabaseFileName)};Pooling=False"))
        {
            await store.OpenAsync();
            await using var tamper = new SqliteCommand("UPDATE agent_release_chunks SET data = zeroblob(length(data)) WHERE version = '0.0.3-c' AND seq = 1", store);
            Assert.AreEqual(1, await tamper.ExecuteNonQueryAsync());
        }
        Assert.AreNotEqual(64, (await ApplyAsync(controller, data.Path, "  web1: {agent: {version: \"0.0.3-c\"}}\n")).ExitCode);
        var mismatch = await AgentErrorAsync(controller, "web1", "hash to SHA-256");
        StringAssert.Contains(mismatch, $"not the signed {sha[..16]}…; nothing kept", mismatch);
        // The same bytes would come again: the next converges say so instead of fetching the whole binary each time.
        await AgentErrorAsync(controller, "web1", "; nothing kept (fetched again from ");
        Assert.IsFalse(File.Exists(web1.PathOf("/var/lib/hawser/agent/hawser-agent-0.0.3-c")));
        Assert.IsFalse(File.Exists(web1.PathOf("/var/lib/hawser/agent/hawser-agent-0.0.3-c.part")));

        // A figure, not an assertion: the peak RSS after a release eight times as large (the binary with 100 MiB appended;
        // an ELF file runs with bytes after its end), to show the download holds a chunk, not the binary.
        var peakSmall = Peak(agent1);
        using (var big = new TempDirectory("hawser-release-big-"))
        {
            var padded = new byte[File.ReadAllBytes(agentBinary).Length + 100 * 1048576];
            File.ReadAllBytes(agentBinary).CopyTo(padded, 0);
            await ReleaseBuild.WriteSignedReleaseAsync(big.Path, padded, "0.0.4-big");
            Assert.AreEqual(0, (await Ctl(controller, "agent", "publish", big.Path)).ExitCode);
        }
        Assert.AreNotEqual(64, (await ApplyAsync(controller, data.Path, "  web1: {agent: {version: \"0.0.4-big\"}}\n")).ExitCode);
        await AgentErrorAsync(controller, "web1", "not 0.0.4-big");
        var bigStaged = new FileInfo(web1.PathOf("/var/lib/hawser/agent/hawser-agent-0.0.4-big"));
        Console.WriteLine($"figure: web1 peak RSS (VmHWM) {peakSmall} after the {new FileInfo(agentBinary).Length / 1048576.0:0.0} MiB release, {Peak(agent1)} after a further {bigStaged.Length / 1048576.0:0.0} MiB one");
    }
}
