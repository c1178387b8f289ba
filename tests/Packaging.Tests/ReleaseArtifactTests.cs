using Hawser.TestSupport;

namespace Hawser.Packaging.Tests;

/// <summary>What <c>packaging/build-release.sh</c> makes: a release agent that runs without .NET, and a .deb that dpkg and lintian accept.</summary>
[TestClass]
public sealed class ReleaseArtifactTests
{
    private static readonly Dictionary<string, string> BarePath = new() { ["PATH"] = "/usr/bin:/bin", ["DOTNET_ROOT"] = "", ["HOME"] = "/root" };

    [AssemblyCleanup]
    public static void RemoveBuild() => ReleaseBuild.Remove();

    /// <summary>A root holding the certificate files examples/opam.yaml installs from (certbot's, in local mode).</summary>
    private static TempDirectory OpamRoot()
    {
        var root = new TempDirectory("hawser-release-root-");
        using var ca = new TestCertificates();
        var (chain, key) = ca.IssuePem("opam.example.org", "www.opam.example.org");
        var live = Path.Combine(root.Path, "etc", "letsencrypt", "live", "opam.example.org");
        Directory.CreateDirectory(live);
        File.WriteAllText(Path.Combine(live, "fullchain.pem"), chain);
        File.WriteAllText(Path.Combine(live, "privkey.pem"), key);
        return root;
    }

    [TestMethod]
    public async Task The_release_agent_plans_examples_opam_without_dotnet_exactly_as_the_development_build_does()
    {
        var agent = await ReleaseBuild.AgentAsync();
        using var root = OpamRoot();
        string[] text = ["apply", "-f", Path.Combine(RepoPaths.Root, "examples", "opam.yaml"), "--node", "web1", "--root", root.Path, "--dry-run"];
        string[] json = [.. text, "-o", "json"];

        var release = await ExternalProcess.RunAsync(agent, text, environment: BarePath);
        var releaseJson = await ExternalProcess.RunAsync(agent, json, environment: BarePath);
        var development = await HawserProcesses.RunAsync("hawser-agent", text);
        var developmentJson = await HawserProcesses.RunAsync("hawser-agent", json);

        // 2: a dry run that found changes (a fresh root has none of the files yet).
        Assert.AreEqual(2, release.ExitCode, release.Output);
        StringAssert.Contains(release.StandardOutput, "sysctl:net.core.default_qdisc");
        StringAssert.Contains(release.StandardOutput, "would change  file:/etc/sysctl.d/60-hawser.conf");
        StringAssert.Contains(release.StandardOutput, "certificate:www");
        Assert.AreEqual(development.StandardOutput, release.StandardOutput, "NativeAOT removed nothing the plan needs");
        Assert.AreEqual(developmentJson.StandardOutput, releaseJson.StandardOutput, "source-generated JSON survives NativeAOT");
        Assert.AreEqual(string.Empty, release.StandardError);
    }

    [TestMethod]
    public async Task The_arm64_release_agent_runs_under_qemu_and_plans_exactly_as_the_x64_one()
    {
        var arm64 = await ReleaseBuild.AgentAsync("arm64");
        var x64 = await ReleaseBuild.AgentAsync("x64");
        using var root = OpamRoot();
        string[] plan = ["apply", "-f", Path.Combine(RepoPaths.Root, "examples", "opam.yaml"), "--node", "web1", "--root", root.Path, "--dry-run", "-o", "json"];
        // Debian's qemu-user-static runs the aarch64 binary with Debian's arm64 libc and libssl3 (multiarch, under /).
        string[] qemu = ["-L", "/", arm64];

        var header = new byte[20];
        using (var elf = File.OpenRead(arm64))
        {
            elf.ReadExactly(header);
        }
        var version = await ExternalProcess.RunAsync("qemu-aarch64-static", [.. qemu, "--version"], environment: BarePath);
        var onArm = await ExternalProcess.RunAsync("qemu-aarch64-static", [.. qemu, .. plan], environment: BarePath);
        var onX64 = await ExternalProcess.RunAsync(x64, plan, environment: BarePath);

        Assert.AreEqual(183, BitConverter.ToUInt16(header, 18), "e_machine is EM_AARCH64");
        Assert.AreEqual(0, version.ExitCode, version.Output);
        StringAssert.StartsWith(version.StandardOutput, ReleaseBuild.Version);
        // 2: a dry run that found changes, the certificate's files included (read with the arm64 OpenSSL).
        Assert.AreEqual(2, onArm.ExitCode, onArm.Output);
        Assert.AreEqual(2, onX64.ExitCode, onX64.Output);
        StringAssert.Contains(onArm.StandardOutput, "sysctl:net.core.default_qdisc");
        StringAssert.Contains(onArm.StandardOutput, "certificate:www");
        Assert.AreEqual(onX64.StandardOutput, onArm.StandardOutput, "the arm64 build plans what the x64 build plans");
    }

    [TestMethod]
    public async Task There_is_a_deb_for_amd64_and_one_for_arm64()
    {
        var amd64 = await ExternalProcess.RunAsync("dpkg-deb", ["-f", await ReleaseBuild.AgentDebAsync("amd64"), "Architecture"]);
        var arm64 = await ExternalProcess.RunAsync("dpkg-deb", ["-f", await ReleaseBuild.AgentDebAsync("arm64"), "Architecture"]);
        var arm64Files = await ExternalProcess.RunAsync("dpkg-deb", ["-c", await ReleaseBuild.AgentDebAsync("arm64")]);

        Assert.AreEqual("amd64", amd64.StandardOutput.Trim(), amd64.Output);
        Assert.AreEqual("arm64", arm64.StandardOutput.Trim(), arm64.Output);
        StringAssert.Contains(arm64Files.StandardOutput, "./usr/bin/hawser-agent");
    }

    [TestMethod]
    public async Task The_release_agent_applies_reads_its_config_and_then_finds_the_host_in_sync()
    {
        var agent = await ReleaseBuild.AgentAsync();
        using var root = new TempDirectory("hawser-release-root-");
        using var procSys = new TempDirectory("hawser-release-sys-");
        Directory.CreateDirectory(Path.Combine(procSys.Path, "net", "ipv4"));
        File.WriteAllText(Path.Combine(procSys.Path, "net", "ipv4", "tcp_keepalive_time"), "7200\n");
        Directory.CreateDirectory(Path.Combine(root.Path, "etc", "hawser"));
        // agent.yaml through the trimmed YAML reader: the sysctl.d file goes where it says.
        File.WriteAllText(Path.Combine(root.Path, "etc", "hawser", "agent.yaml"), "sysctlFile: /etc/sysctl.d/90-release-test.conf\n");
        var spec = Path.Combine(root.Path, "spec.yaml");
        File.WriteAllText(spec, "apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");
        string[] apply = ["apply", "-f", spec, "--node", "web1", "--root", root.Path, "--proc-sys", procSys.Path];

        var first = await ExternalProcess.RunAsync(agent, apply, environment: BarePath);
        var again = await ExternalProcess.RunAsync(agent, [.. apply, "--dry-run"], environment: BarePath);

        Assert.AreEqual(0, first.ExitCode, first.Output);
        Assert.AreEqual("600", File.ReadAllText(Path.Combine(procSys.Path, "net", "ipv4", "tcp_keepalive_time")).Trim());
        StringAssert.Contains(File.ReadAllText(Path.Combine(root.Path, "etc", "sysctl.d", "90-release-test.conf")), "net.ipv4.tcp_keepalive_time = 600");
        Assert.AreEqual(0, again.ExitCode, again.Output);
        StringAssert.Contains(again.StandardOutput, "0 would change");
    }

    [TestMethod]
    public async Task A_bad_agent_config_is_still_refused_with_its_line_by_the_release_agent()
    {
        var agent = await ReleaseBuild.AgentAsync();
        using var root = new TempDirectory("hawser-release-root-");
        Directory.CreateDirectory(Path.Combine(root.Path, "etc", "hawser"));
        var config = Path.Combine(root.Path, "etc", "hawser", "agent.yaml");
        File.WriteAllText(config, "sysctlFile: /etc/sysctl.d/60-hawser.conf\nallowedPath: [/etc/]\ndockerStartTimeoutSeconds: soon\n");
        var spec = Path.Combine(root.Path, "spec.yaml");
        File.WriteAllText(spec, "apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");

        var result = await ExternalProcess.RunAsync(agent, ["apply", "-f", spec, "--node", "web1", "--root", root.Path, "--dry-run"], environment: BarePath);

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{config}:2:1: unknown setting 'allowedPath'");
        StringAssert.Contains(result.StandardError, $"{config}:3:28: dockerStartTimeoutSeconds 'soon' must be a whole number");
    }

    [TestMethod]
    public async Task The_deb_lists_its_files_installs_into_a_temporary_dpkg_database_and_removes_cleanly()
    {
        var deb = await ReleaseBuild.AgentDebAsync();
        using var temp = new TempDirectory("hawser-dpkg-");
        var admin = Path.Combine(temp.Path, "admin");
        var instdir = Path.Combine(temp.Path, "root");
        foreach (var dir in new[] { "info", "updates", "triggers" })
        {
            Directory.CreateDirectory(Path.Combine(admin, dir));
        }
        File.WriteAllText(Path.Combine(admin, "status"), string.Empty);
        Directory.CreateDirectory(instdir);
        // The temporary database knows none of the host's packages, so the dependencies (libc6, libssl3) cannot be checked
        // there; the maintainer scripts run outside a chroot (the temp root has no /bin/sh).
        string[] dpkg = [$"--admindir={admin}", $"--instdir={instdir}", "--force-depends", "--force-script-chrootless"];

        var info = await ExternalProcess.RunAsync("dpkg-deb", ["--info", deb]);
        var contents = await ExternalProcess.RunAsync("dpkg-deb", ["--contents", deb]);
        var install = await ExternalProcess.RunAsync("dpkg", [.. dpkg, "--install", deb]);
        var status = await ExternalProcess.RunAsync("dpkg", [$"--admindir={admin}", "--status", "hawser-agent"]);
        var installedBinary = Path.Combine(instdir, "usr", "bin", "hawser-agent");
        var installed = File.Exists(installedBinary) ? await ExternalProcess.RunAsync(installedBinary, ["--version"], environment: BarePath) : null;
        var unit = Path.Combine(instdir, "lib", "systemd", "system", "hawser-agent.service");
        var unitText = File.Exists(unit) ? File.ReadAllText(unit) : "(missing)";
        var remove = await ExternalProcess.RunAsync("dpkg", [.. dpkg, "--remove", "hawser-agent"]);

        Assert.AreEqual(0, info.ExitCode, info.Output);
        StringAssert.Contains(info.StandardOutput, "Package: hawser-agent");
        StringAssert.Contains(info.StandardOutput, $"Version: {ReleaseBuild.Version}");
        StringAssert.Contains(info.StandardOutput, "postinst");
        StringAssert.Contains(contents.StandardOutput, "./usr/bin/hawser-agent");
        StringAssert.Contains(contents.StandardOutput, "./lib/systemd/system/hawser-agent.service");
        StringAssert.Contains(contents.StandardOutput, "./usr/share/doc/hawser-agent/copyright");
        Assert.AreEqual(0, install.ExitCode, install.Output);
        StringAssert.Contains(status.StandardOutput, "Status: install ok installed");
        Assert.IsNotNull(installed, "dpkg put the binary in usr/bin");
        Assert.AreEqual(0, installed.ExitCode, installed.Output);
        StringAssert.StartsWith(installed.StandardOutput, ReleaseBuild.Version);
        StringAssert.Contains(unitText, "ExecStart=/usr/bin/hawser-agent run", "the packaged unit runs the packaged binary");
        Assert.AreEqual(0, remove.ExitCode, remove.Output);
        Assert.IsFalse(File.Exists(installedBinary), "dpkg --remove took the binary away");
    }

    [TestMethod]
    public async Task The_packaged_unit_verifies_with_systemd_analyze()
    {
        var deb = await ReleaseBuild.AgentDebAsync();
        using var root = new TempDirectory("hawser-deb-units-");
        var extract = await ExternalProcess.RunAsync("dpkg-deb", ["--extract", deb, root.Path]);
        Directory.CreateDirectory(Path.Combine(root.Path, "usr", "lib", "systemd"));
        Directory.CreateDirectory(Path.Combine(root.Path, "bin"));
        File.Copy("/bin/kill", Path.Combine(root.Path, "bin", "kill"));
        var copy = await ExternalProcess.RunAsync("cp", ["-r", "/lib/systemd/system", Path.Combine(root.Path, "usr", "lib", "systemd")]);

        var verify = await ExternalProcess.RunAsync("systemd-analyze", ["verify", $"--root={root.Path}", "/lib/systemd/system/hawser-agent.service"]);

        Assert.AreEqual(0, extract.ExitCode, extract.Output);
        Assert.AreEqual(0, copy.ExitCode, copy.Output);
        Assert.AreEqual(0, verify.ExitCode, verify.Output);
        Assert.AreEqual(string.Empty, verify.StandardError.Trim(), "systemd-analyze found something to say");
    }

    [TestMethod]
    public async Task The_musl_tarball_holds_a_framework_dependent_agent_that_runs_on_dotnet_and_the_OpenRC_script()
    {
        var release = await ReleaseBuild.DirectoryAsync();
        using var extracted = new TempDirectory("hawser-musl-");

        var untar = await ExternalProcess.RunAsync("tar", ["-xzf", Path.Combine(release, $"hawser-{ReleaseBuild.Version}-linux-musl-x64.tar.gz"), "-C", extracted.Path]);
        var wrapper = File.ReadAllText(Path.Combine(extracted.Path, "usr", "local", "bin", "hawser-agent"));
        var version = await ExternalProcess.RunAsync("dotnet", [Path.Combine(extracted.Path, "usr", "lib", "hawser", "hawser-agent", "hawser-agent.dll"), "--version"]);

        Assert.AreEqual(0, untar.ExitCode, untar.Output);
        StringAssert.Contains(wrapper, "exec dotnet /usr/lib/hawser/hawser-agent/hawser-agent.dll \"$@\"");
        Assert.AreEqual(0, version.ExitCode, version.Output);
        StringAssert.StartsWith(version.StandardOutput, ReleaseBuild.Version);
        Assert.AreEqual(File.ReadAllText(Path.Combine(RepoPaths.Root, "packaging", "openrc", "hawser-agent")),
            File.ReadAllText(Path.Combine(extracted.Path, "etc", "init.d", "hawser-agent")));
        StringAssert.Contains(File.ReadAllText(Path.Combine(extracted.Path, "etc", "conf.d", "hawser-agent")), "#HAWSER_NODE=\"web1\"");
    }

    [TestMethod]
    public async Task Lintian_finds_no_error_in_the_deb()
    {
        var deb = await ReleaseBuild.AgentDebAsync();

        var lintian = await ExternalProcess.RunAsync("lintian", ["--fail-on", "error", deb], TimeSpan.FromMinutes(3));

        Assert.AreEqual(0, lintian.ExitCode, lintian.Output);
        Assert.DoesNotContain("E: ", lintian.StandardOutput);
    }
}
