using Hawser.TestSupport;

namespace Hawser.Packaging.Tests;

/// <summary>
/// Issue 29, item 3: the quick start's `./demo.sh` installs what the demo needs and nothing more. The script runs for
/// real against stand-ins for dpkg, dpkg-query, apt-get, systemctl and sudo, which record what they are asked and report
/// every package missing (installing packages from a test would change the machine the suite runs on).
/// </summary>
[TestClass]
public sealed class InstallDepsTests
{
    // What only the test command needs: none of it may come with the demo.
    private static readonly string[] TestOnly = ["chromium", "qemu-user-static", "libssl3:arm64", "clang", "lld", "binutils-aarch64-linux-gnu",
        "libc6-dev-arm64-cross", "openrc", "prometheus", "bind9", "ndppd", "lintian", "haproxy", "hitch", "prometheus-node-exporter"];

    private static async Task<(ProcessResult Result, string[] Calls)> RunAsync(params string[] arguments)
    {
        using var stubs = new TempDirectory();
        var calls = Path.Join(stubs.Path, "calls");
        // Each stand-in appends its name and arguments; dpkg-query finds nothing installed; dpkg knows no foreign architecture.
        foreach (var (name, body) in new[]
        {
            ("apt-get", "exit 0"), ("systemctl", "exit 0"), ("sudo", "exec \"$@\""),
            ("dpkg-query", "exit 1"), ("dpkg", "exit 0"),
        })
        {
            var path = Path.Join(stubs.Path, name);
            File.WriteAllText(path, $"#!/bin/sh\necho \"{name} $*\" >> '{calls}'\n{body}\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var result = await ExternalProcess.RunAsync("bash", [Path.Join(RepoPaths.Root, "scripts", "install-deps.sh"), .. arguments],
            environment: new Dictionary<string, string> { ["PATH"] = $"{stubs.Path}:{Environment.GetEnvironmentVariable("PATH")}" });
        return (result, File.Exists(calls) ? File.ReadAllLines(calls) : []);
    }

    private static string[] Installed(string[] calls) =>
        [.. calls.Where(c => c.StartsWith("apt-get ", StringComparison.Ordinal) && c.Contains(" install ", StringComparison.Ordinal))
            .SelectMany(c => c.Split(' ').SkipWhile(w => w != "--no-install-recommends").Skip(1))];

    [TestMethod]
    public async Task The_demo_installs_what_the_demo_needs_and_nothing_the_tests_alone_need()
    {
        var (result, calls) = await RunAsync("--demo");

        Assert.AreEqual(0, result.ExitCode, result.Output);
        var installed = Installed(calls);
        CollectionAssert.IsSubsetOf(new[] { "docker.io", "ufw", "iptables", "iproute2", "busybox-static", "pebble", "nginx", "openssl", "python3" }, installed, string.Join("\n", calls));
        CollectionAssert.AreEqual(Array.Empty<string>(), installed.Intersect(TestOnly).ToArray(), "test tools the demo does not need: " + string.Join("\n", calls));
        Assert.DoesNotContain("postgresql", installed, "PostgreSQL only with --ha");
        Assert.IsFalse(calls.Any(c => c.Contains("--add-architecture", StringComparison.Ordinal)), "no arm64 architecture for the demo: " + string.Join("\n", calls));
        StringAssert.Contains(result.StandardOutput, "apt-get install ", "it says what it installs");
    }

    [TestMethod]
    public async Task The_ha_demo_adds_only_postgresql()
    {
        var (demo, demoCalls) = await RunAsync("--demo");
        var (ha, haCalls) = await RunAsync("--demo", "--ha");

        Assert.AreEqual(0, demo.ExitCode, demo.Output);
        Assert.AreEqual(0, ha.ExitCode, ha.Output);
        CollectionAssert.AreEquivalent(new[] { "postgresql" }, Installed(haCalls).Except(Installed(demoCalls)).ToArray());
    }
}
