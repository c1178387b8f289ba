using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Packaging.Tests;

/// <summary>
/// Issue 30's signed releases: the release build (signed by the test's own key) published with <c>hawserctl agent publish</c>
/// to a controller that trusts that key; every bad upload (bytes changed, another key, the wrong architecture) refused with
/// the reason and nothing stored; a controller that trusts no key refuses every release.
/// </summary>
[TestClass]
public sealed class AgentReleasePublishTests
{
    private static async Task<JsonElement[]> ReleasesAsync(ControllerProcess controller)
    {
        var list = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "agent", "releases", "-o", "json"]);
        Assert.AreEqual(0, list.ExitCode, list.Output);
        return [.. JsonDocument.Parse(list.StandardOutput).RootElement.GetProperty("releases").EnumerateArray()];
    }

    private static Task<ProcessResult> PublishAsync(ControllerProcess controller, string directory) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "agent", "publish", directory]);

    /// <summary>A copy of the release's agents (binary, manifest, signature) to tamper with.</summary>
    private static async Task<TempDirectory> CopyAsync()
    {
        var release = await ReleaseBuild.DirectoryAsync();
        var copy = new TempDirectory("hawser-release-copy-");
        foreach (var arch in new[] { "x64", "arm64" })
        {
            Directory.CreateDirectory(Path.Combine(copy.Path, $"linux-{arch}"));
            foreach (var file in new[] { "hawser-agent", "hawser-agent.release", "hawser-agent.release.sig" })
            {
                File.Copy(Path.Combine(release, $"linux-{arch}", file), Path.Combine(copy.Path, $"linux-{arch}", file));
            }
        }
        return copy;
    }

    private static async Task SignAsync(string key, string manifest)
    {
        var signed = await ExternalProcess.RunAsync("openssl", ["pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", manifest, "-out", manifest + ".sig"], TimeSpan.FromSeconds(30));
        Assert.AreEqual(0, signed.ExitCode, signed.Output);
    }

    [TestMethod]
    public async Task A_signed_build_is_published_listed_and_every_tampered_upload_is_refused_with_nothing_stored()
    {
        var release = await ReleaseBuild.DirectoryAsync();
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--release-key", ReleaseBuild.PublicKey);

        var published = await PublishAsync(controller, release);
        Assert.AreEqual(0, published.ExitCode, published.Output);
        StringAssert.Contains(published.StandardOutput, $"linux-x64: published release {ReleaseBuild.Version}", published.Output);
        StringAssert.Contains(published.StandardOutput, $"linux-arm64: published release {ReleaseBuild.Version}", published.Output);
        var releases = await ReleasesAsync(controller);
        Assert.HasCount(2, releases);
        foreach (var arch in new[] { "x64", "arm64" })
        {
            var binary = Path.Combine(release, $"linux-{arch}", "hawser-agent");
            var entry = releases.Single(r => r.GetProperty("arch").GetString() == arch);
            Assert.AreEqual(ReleaseBuild.Version, entry.GetProperty("version").GetString());
            Assert.AreEqual(ReleaseBuild.Sha256Of(binary), entry.GetProperty("sha256").GetString());
            Assert.AreEqual((ulong)new FileInfo(binary).Length, entry.GetProperty("size").GetUInt64());
        }
        var again = await PublishAsync(controller, release);
        Assert.AreEqual(0, again.ExitCode, again.Output);
        StringAssert.Contains(again.StandardOutput, "already published with these bytes; nothing changed", again.Output);

        // The binary changed after signing: its SHA-256 is not the signed one.
        using (var changed = await CopyAsync())
        {
            var binary = Path.Combine(changed.Path, "linux-x64", "hawser-agent");
            var bytes = File.ReadAllBytes(binary);
            bytes[^100] ^= 0xff;
            File.WriteAllBytes(binary, bytes);
            var refused = await PublishAsync(controller, changed.Path);
            Assert.AreEqual(1, refused.ExitCode, refused.Output);
            StringAssert.Matches(refused.StandardError, new System.Text.RegularExpressions.Regex(
                @"linux-x64: refused: the binary sent is \d+ bytes with SHA-256 [0-9a-f]{16}…; the signed manifest says \d+ bytes, [0-9a-f]{16}…: not stored"), refused.Output);
        }

        // Signed by a key the controller does not trust: refused at the header, before any byte of the binary is taken.
        using (var otherKey = await CopyAsync())
        {
            var key = Path.Combine(otherKey.Path, "other.key");
            await ReleaseBuild.MakeKeyAsync(key);
            await SignAsync(key, Path.Combine(otherKey.Path, "linux-arm64", "hawser-agent.release"));
            var refused = await PublishAsync(controller, otherKey.Path);
            Assert.AreEqual(1, refused.ExitCode, refused.Output);
            StringAssert.Contains(refused.StandardError, "linux-arm64: refused: the release's signature does not verify with release key", refused.Output);
        }

        // A manifest (validly signed, a new version) that names the other architecture for the x64 binary.
        using (var wrongArch = await CopyAsync())
        {
            var manifest = Path.Combine(wrongArch.Path, "linux-arm64", "hawser-agent.release");
            var x64 = Path.Combine(wrongArch.Path, "linux-x64", "hawser-agent");
            File.Copy(x64, Path.Combine(wrongArch.Path, "linux-arm64", "hawser-agent"), overwrite: true);
            File.WriteAllText(manifest, $"hawser-agent release\nversion: 0.0.2\narch: arm64\nsize: {new FileInfo(x64).Length}\n" +
                $"sha256: {ReleaseBuild.Sha256Of(x64)}\n");
            await SignAsync(ReleaseBuild.SigningKey, manifest);
            Directory.Delete(Path.Combine(wrongArch.Path, "linux-x64"), recursive: true);
            var refused = await PublishAsync(controller, wrongArch.Path);
            Assert.AreEqual(1, refused.ExitCode, refused.Output);
            StringAssert.Contains(refused.StandardError, "linux-arm64: refused: the binary is x64, but its manifest says arm64: not stored", refused.Output);
        }

        Assert.HasCount(2, await ReleasesAsync(controller), "a refused upload stores nothing");
        var events = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "events", "-o", "json"]);
        Assert.AreEqual(2, JsonDocument.Parse(events.StandardOutput).RootElement.GetProperty("events").EnumerateArray()
            .Count(e => e.GetProperty("kind").GetString() == "agent.release-published"), events.Output);
    }

    [TestMethod]
    public async Task A_controller_that_trusts_no_release_key_refuses_every_release()
    {
        var release = await ReleaseBuild.DirectoryAsync();
        using var data = new TempDirectory();
        // The development build has no key built in.
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var refused = await PublishAsync(controller, release);
        Assert.AreEqual(1, refused.ExitCode, refused.Output);
        StringAssert.Contains(refused.StandardError, "this controller trusts no release key: start it with --release-key", refused.Output);
        Assert.IsEmpty(await ReleasesAsync(controller));
    }
}
