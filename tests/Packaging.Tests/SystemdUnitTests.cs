using Hawser.TestSupport;

namespace Hawser.Packaging.Tests;

/// <summary>The systemd units, checked by systemd's own verifier as installed under a test root.</summary>
[TestClass]
public sealed class SystemdUnitTests
{
    private static readonly string Units = Path.Combine(RepoPaths.Root, "packaging", "systemd");

    /// <summary>A root with systemd's own units (for the default dependencies), ours, and executables where ExecStart points.</summary>
    private static TempDirectory InstallRoot(bool withBinaries = true)
    {
        var root = new TempDirectory("hawser-units-");
        Directory.CreateDirectory(Path.Combine(root.Path, "etc", "systemd", "system"));
        Directory.CreateDirectory(Path.Combine(root.Path, "usr", "local", "bin"));
        Directory.CreateDirectory(Path.Combine(root.Path, "usr", "lib", "systemd"));
        var copy = ExternalProcess.RunAsync("cp", ["-r", "/lib/systemd/system", Path.Combine(root.Path, "usr", "lib", "systemd")]).GetAwaiter().GetResult();
        Assert.AreEqual(0, copy.ExitCode, copy.Output);
        // ExecReload's program, as on the host.
        Directory.CreateDirectory(Path.Combine(root.Path, "bin"));
        File.Copy("/bin/kill", Path.Combine(root.Path, "bin", "kill"));
        foreach (var unit in Directory.GetFiles(Units, "*.service"))
        {
            File.Copy(unit, Path.Combine(root.Path, "etc", "systemd", "system", Path.GetFileName(unit)));
            if (withBinaries)
            {
                var binary = Path.Combine(root.Path, "usr", "local", "bin", Path.GetFileNameWithoutExtension(unit));
                File.WriteAllText(binary, "#!/bin/sh\n");
                File.SetUnixFileMode(binary, (UnixFileMode)Convert.ToInt32("755", 8));
            }
        }
        return root;
    }

    private static Task<ProcessResult> VerifyAsync(TempDirectory root, params string[] units) =>
        ExternalProcess.RunAsync("systemd-analyze", ["verify", $"--root={root.Path}", .. units.Select(u => $"/etc/systemd/system/{u}")]);

    [TestMethod]
    [DataRow("hawser-agent.service")]
    [DataRow("hawser-controller.service")]
    public async Task The_unit_verifies_without_a_warning(string unit)
    {
        using var root = InstallRoot();

        var result = await VerifyAsync(root, unit);

        Assert.AreEqual(0, result.ExitCode, result.Output);
        Assert.AreEqual(string.Empty, result.StandardError.Trim(), "systemd-analyze found something to say");
        var text = File.ReadAllText(Path.Combine(Units, unit));
        StringAssert.Contains(text, "Type=notify", "the binaries speak sd_notify");
        StringAssert.Contains(text, "WatchdogSec=");
        StringAssert.Contains(text, "After=network-online.target");
    }

    [TestMethod]
    public async Task The_verifier_catches_a_missing_binary_and_a_bad_setting()
    {
        using var noBinaries = InstallRoot(withBinaries: false);
        using var broken = InstallRoot();
        var unit = Path.Combine(broken.Path, "etc", "systemd", "system", "hawser-controller.service");
        File.WriteAllText(unit, File.ReadAllText(unit).Replace("Type=notify", "Type=notifyy", StringComparison.Ordinal));

        var missing = await VerifyAsync(noBinaries, "hawser-agent.service");
        var bad = await VerifyAsync(broken, "hawser-controller.service");

        Assert.AreNotEqual(0, missing.ExitCode, missing.Output);
        StringAssert.Contains(missing.StandardError, "/usr/local/bin/hawser-agent is not executable");
        StringAssert.Contains(bad.StandardError, "Failed to parse service type");
    }

    [TestMethod]
    public void The_agent_unit_leaves_the_agent_its_job_and_the_controller_unit_locks_down()
    {
        var agent = File.ReadAllText(Path.Combine(Units, "hawser-agent.service"));
        var controller = File.ReadAllText(Path.Combine(Units, "hawser-controller.service"));

        Assert.DoesNotContain("ProtectKernelTunables=yes", agent, "the agent writes /proc/sys");
        Assert.DoesNotContain("ProtectKernelModules=yes", agent, "the agent may load tcp_bbr");
        StringAssert.Contains(agent, "After=network-online.target docker.service");
        StringAssert.Contains(agent, "EnvironmentFile=-/etc/default/hawser-agent");
        StringAssert.Contains(agent, "StateDirectory=hawser");
        StringAssert.Contains(agent, "ConfigurationDirectory=hawser");
        StringAssert.Contains(controller, "DynamicUser=yes");
        StringAssert.Contains(controller, "ProtectKernelTunables=yes");
        StringAssert.Contains(controller, "CapabilityBoundingSet=\n");
    }
}
