using Hawser.TestSupport;

namespace Hawser.Agent.Tests.Faults;

/// <summary>
/// Faults against the real agent process: a full file system, a SIGKILL at random moments, temp files
/// a kill left behind, and the error paths a user can reach, none of which may lose what is needed to
/// undo a change or show a stack trace.
/// </summary>
[TestClass]
public sealed class CrashSafetyTests
{
    private const string KeepaliveSpec = "apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\", net.ipv4.tcp_keepalive_intvl: \"30\"}\n";

    /// <summary>A spec that keeps the node but no longer sets the two keys, so their old values are put back.</summary>
    private const string WithoutKeepaliveSpec = "apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_fin_timeout: \"60\"}\n";

    [TestMethod]
    public async Task A_full_disk_fails_in_one_line_per_resource_and_leaves_the_live_values_alone()
    {
        using var ns = await NetworkNamespace.CreateAsync("fulldisk");
        using var host = new AgentHost(ns);
        using var disk = await TmpfsMount.MountAsync(host.Root, "1m");
        Directory.CreateDirectory(host.PathOf("/var/lib/hawser"));
        disk.Fill();
        var before = await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time");

        var result = await host.ApplyAsync(host.WriteSpec(KeepaliveSpec), "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.Output, "No space left on device");
        StringAssert.Contains(result.StandardOutput, "failed");
        Assert.DoesNotContain("   at ", result.Output, "no stack trace reaches the user");
        Assert.AreEqual(before, await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"),
            "a change whose undo record cannot be saved is not made");
    }

    [TestMethod]
    public async Task A_SIGKILL_at_any_moment_never_loses_the_record_that_puts_a_value_back()
    {
        using var ns = await NetworkNamespace.CreateAsync("killundo");
        using var host = new AgentHost(ns);
        var apply = host.WriteSpec(KeepaliveSpec, "apply.yaml");
        var undo = host.WriteSpec(WithoutKeepaliveSpec, "undo.yaml");
        var original = await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time");
        var originalInterval = await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_intvl");
        var random = new Random();
        // One run to its end says how long a run lasts here; kills then land anywhere within that.
        var runLength = await KillWindow.MeasureAsync(() => StartApply(ns, host, apply), "hawser-agent");
        Assert.AreEqual(0, (await host.ApplyAsync(undo, "web1")).ExitCode);
        var state = host.PathOf("/var/lib/hawser/state.json");
        int rounds = 0, killedAfterTheChange = 0;
        for (; rounds < 60 && (rounds < 12 || killedAfterTheChange < 3); rounds++)
        {
            var stateBefore = File.GetLastWriteTimeUtc(state);
            using var process = StartApply(ns, host, apply);
            await KillWindow.WaitUntilLoadedAsync(process, "hawser-agent");
            if (rounds % 2 == 0)
            {
                // Anywhere in the run.
                await Task.Delay(random.Next(0, runLength));
            }
            else
            {
                // Just after the agent first saves its state in this run (the undo record, written ahead of the change).
                await KillWindow.WaitForWriteAsync(process, state, stateBefore);
                await Task.Delay(random.Next(0, 15));
            }
            var killed = !process.HasExited;
            process.Kill();
            await process.WaitForExitAsync();
            if (killed && (await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time") == "600" || await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_intvl") == "30"))
            {
                killedAfterTheChange++;
            }

            var restored = await host.ApplyAsync(undo, "web1");

            Assert.AreEqual(0, restored.ExitCode, $"round {rounds}: {restored.Output}");
            Assert.AreEqual(original, await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"), $"round {rounds}: the value before the agent was not put back");
            Assert.AreEqual(originalInterval, await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_intvl"), $"round {rounds}: the value before the agent was not put back");
        }
        Console.WriteLine($"{rounds} kills, {killedAfterTheChange} after the live change and before the run ended; every value put back");
        Assert.IsGreaterThanOrEqualTo(1, killedAfterTheChange, $"in {rounds} rounds no kill landed after the live change; the test proved nothing");
    }

    [TestMethod]
    [DataRow("truncated", null)]
    [DataRow("null", "null")]
    [DataRow("array", "[]")]
    [DataRow("number", "42")]
    public async Task A_state_file_that_is_not_an_object_stops_the_run_naming_it_and_changes_nothing(string name, string? content)
    {
        using var ns = await NetworkNamespace.CreateAsync("state-" + name);
        using var host = new AgentHost(ns);
        Assert.AreEqual(0, (await host.ApplyAsync(host.WriteSpec(KeepaliveSpec), "web1")).ExitCode);
        var state = host.PathOf("/var/lib/hawser/state.json");
        var bytes = File.ReadAllBytes(state);
        var damaged = content is null ? bytes[..(bytes.Length / 2)] : System.Text.Encoding.UTF8.GetBytes(content);
        File.WriteAllBytes(state, damaged);

        var result = await host.ApplyAsync(host.WriteSpec(WithoutKeepaliveSpec, "undo.yaml"), "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{state} is not readable state");
        Assert.DoesNotContain("   at ", result.Output);
        Assert.AreEqual("600", await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"), "nothing is undone from a record that cannot be read");
        CollectionAssert.AreEqual(damaged, File.ReadAllBytes(state), "the damaged file is left for the operator");
    }

    [TestMethod]
    public async Task A_read_only_root_fails_in_one_line_and_changes_nothing_live()
    {
        using var ns = await NetworkNamespace.CreateAsync("readonly");
        using var host = new AgentHost(ns);
        using var disk = await TmpfsMount.MountAsync(host.Root, "4m");
        Directory.CreateDirectory(host.PathOf("/etc"));
        await disk.RemountAsync(readOnly: true);
        var before = await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time");

        var result = await host.ApplyAsync(host.WriteSpec(KeepaliveSpec), "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.Output, "Read-only file system");
        Assert.DoesNotContain("   at ", result.Output);
        Assert.AreEqual(before, await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"));
    }

    [TestMethod]
    public async Task Temp_files_a_kill_left_behind_are_removed_at_the_next_start_and_others_are_kept()
    {
        using var ns = await NetworkNamespace.CreateAsync("stale");
        using var host = new AgentHost(ns);
        var stale = new[]
        {
            "/etc/sysctl.d/.60-hawser.conf.hawser-0123456789ab",
            "/var/lib/hawser/.state.json.hawser-a1b2c3d4e5f6",
            "/var/lib/hawser/certificates/www/.privkey.pem.hawser-00aa11bb22cc",
        };
        foreach (var path in stale)
        {
            host.WriteFile(path, "-----BEGIN PRIVATE KEY-----\n");
        }
        host.WriteFile("/etc/sysctl.d/.keep.hawser-notours", "x");

        var result = await host.ApplyAsync(host.WriteSpec(KeepaliveSpec), "web1");

        Assert.AreEqual(0, result.ExitCode, result.Output);
        foreach (var path in stale)
        {
            Assert.IsFalse(File.Exists(host.PathOf(path)), $"{path} was left behind");
        }
        Assert.IsTrue(File.Exists(host.PathOf("/etc/sysctl.d/.keep.hawser-notours")), "a file not named like our temp files is not ours");
    }

    [TestMethod]
    public async Task Error_paths_end_in_one_clear_line_without_a_stack_trace()
    {
        using var host = new AgentHost();
        using var temp = new TempDirectory();
        var regularFile = Path.Join(temp.Path, "not-a-directory");
        File.WriteAllText(regularFile, "x");
        var spec = host.WriteSpec("apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");

        var rootIsAFile = await host.RunAgentAsync(["apply", "-f", spec, "--node", "web1", "--root", regularFile]);
        var runRootIsAFile = await host.RunAgentAsync(["run", "--controller", "https://127.0.0.1:1", "--node", "web1", "--root", regularFile]);
        host.WriteFile("/etc/hawser/agent.yaml", "dockerStartTimeoutSeconds: 99999999999\n");
        var hugeNumber = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(64, rootIsAFile.ExitCode, rootIsAFile.Output);
        StringAssert.Contains(rootIsAFile.StandardError, $"--root {regularFile} is not a directory");
        Assert.AreEqual(64, runRootIsAFile.ExitCode, runRootIsAFile.Output);
        Assert.AreEqual(1, hugeNumber.ExitCode, hugeNumber.Output);
        StringAssert.Contains(hugeNumber.StandardError, "dockerStartTimeoutSeconds 99999999999 is out of range: it must be from 1 to 3600");
        foreach (var result in new[] { rootIsAFile, runRootIsAFile, hugeNumber })
        {
            Assert.DoesNotContain("   at ", result.Output);
        }
    }

    private static System.Diagnostics.Process StartApply(NetworkNamespace ns, AgentHost host, string spec) =>
        ExternalProcess.Start("nsenter", [$"--net=/run/netns/{ns.Name}", "dotnet", AgentHost.AgentDll, "apply", "-f", spec, "--node", "web1", "--root", host.Root]);
}
