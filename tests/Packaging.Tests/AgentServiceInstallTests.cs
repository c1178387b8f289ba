using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Packaging.Tests;

/// <summary>
/// <c>hawser-agent install</c> for real, with no --root: the release binary installs itself under
/// Debian's OpenRC (rc-update, rc-service, supervise-daemon), enrolls with a real controller, and
/// uninstalls. It runs in a private mount namespace over a copy of /etc and fresh /run, /var/lib,
/// /var/log and /usr/local/bin, so the machine's own services and files are never touched. Under systemd the same,
/// with Debian's systemd as PID 1 of a PID namespace of its own (<see cref="SystemdHost"/>).
/// </summary>
[TestClass]
public sealed class AgentServiceInstallTests
{
    private static async Task<ProcessResult> InPrivateHostAsync(TempDirectory temp, string shell, int minutes = 2)
    {
        var etc = Path.Combine(temp.Path, "etc");
        var copy = await ExternalProcess.RunAsync("cp", ["-a", "/etc", etc]);
        Assert.AreEqual(0, copy.ExitCode, copy.Output);
        // Alpine's networking service provides "net", which the agent's script needs; Debian's openrc has no such service.
        var network = Path.Combine(etc, "init.d", "hawser-test-network");
        File.WriteAllText(network, "#!/sbin/openrc-run\ndescription=\"stands in for the host's networking\"\ndepend() { provide net; }\nstart() { return 0; }\n");
        File.SetUnixFileMode(network, (UnixFileMode)Convert.ToInt32("755", 8));
        return await ExternalProcess.RunAsync("unshare", ["-m", "sh", "-c",
            "mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/log && mount -t tmpfs tmpfs /var/lib && " +
            $"mount --bind {etc} /etc && mount -t tmpfs tmpfs /usr/local/bin && " +
            "mkdir -p /run/openrc/started /run/openrc/starting /run/openrc/stopping /run/openrc/inactive /run/openrc/wasinactive " +
            "/run/openrc/failed /run/openrc/daemons /run/openrc/options /run/openrc/exclusive /run/openrc/scheduled /run/openrc/tmp && " +
            "echo default > /run/openrc/softlevel && rc-service hawser-test-network start > /dev/null && " + shell], TimeSpan.FromMinutes(minutes));
    }

    private static async Task<string> JoinTokenAsync(ControllerProcess controller)
    {
        var token = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "token", "create", "-o", "json"]);
        Assert.AreEqual(0, token.ExitCode, token.Output);
        return JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!;
    }

    private const string B = "0.0.2-b";

    /// <summary>
    /// A controller holding release B (the test's key), a revision giving <paramref name="node"/> release B and nothing else
    /// (its agent runs in the machine's own network namespace), and a join token; release A's binary and both SHA-256s.
    /// </summary>
    private static async Task<(ControllerProcess Controller, string Agent, string ShaA, string ShaB, string Token)> ReleaseBDesiredAsync(TempDirectory data, string node)
    {
        var agent = await ReleaseBuild.AgentAsync();
        var releaseB = await ReleaseBuild.OtherVersionAsync(B);
        var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--release-key", ReleaseBuild.PublicKey);
        var published = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "agent", "publish", releaseB]);
        Assert.AreEqual(0, published.ExitCode, published.Output);
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, $"apiVersion: hawser/v1\nnodes:\n  {node}: {{agent: {{version: \"{B}\"}}}}\n");
        var applied = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "apply", "-f", spec, "--no-wait"]);
        Assert.AreEqual(0, applied.ExitCode, applied.Output);
        return (controller, agent, ReleaseBuild.Sha256Of(agent), ReleaseBuild.Sha256Of(Path.Combine(releaseB, "linux-x64", "hawser-agent")), await JoinTokenAsync(controller));
    }

    private static async Task<ProcessResult> StatusAsync(ControllerProcess controller, string node) =>
        await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "status", node, "-o", "json"]);

    [TestMethod]
    public async Task Install_starts_the_agent_under_OpenRC_waits_for_its_enrollment_and_uninstall_stops_and_removes_it()
    {
        var agent = await ReleaseBuild.AgentAsync();
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var token = await JoinTokenAsync(controller);
        using var temp = new TempDirectory("hawser-openrc-install-");
        // [h] keeps the pattern from matching the shell that runs pgrep.
        var running = $"pgrep -f '[h]awser-agent run --controller {controller.Address}'";

        var result = await InPrivateHostAsync(temp,
            $"{agent} install --init openrc --controller {controller.Address} --node rc1 --join-token {token} --ca-hash {controller.CaHash} --wait 00:01:00; echo INSTALL=$?; " +
            $"rc-service hawser-agent status; ls /etc/runlevels/default; {running} > /dev/null && echo RUNNING=yes; " +
            "rc-service hawser-agent reload && sleep 1 && grep -q 'SIGHUP: converging now' /var/log/hawser/agent.log && echo RELOADED=yes; " +
            "/usr/local/bin/hawser-agent uninstall; echo UNINSTALL=$?; sleep 1; " +
            $"{running} > /dev/null || echo AFTER=gone; ls /etc/init.d/hawser-agent /etc/conf.d/hawser-agent /usr/local/bin/hawser-agent /var/lib/hawser/node.crt 2>&1");
        var nodes = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "nodes", "-o", "json"]);

        var output = result.StandardOutput;
        StringAssert.Contains(output, "running: rc-update add hawser-agent default", result.Output);
        StringAssert.Contains(output, "running: rc-service hawser-agent start");
        StringAssert.Contains(output, "enrolled as rc1; node certificate valid until ");
        StringAssert.Contains(output, "connected; the controller has no desired state for this node yet");
        StringAssert.Contains(output, "INSTALL=0");
        StringAssert.Contains(result.Output, "status: started");
        StringAssert.Contains(output, "hawser-agent\n", "rc-update put it in the default runlevel");
        StringAssert.Contains(output, "RUNNING=yes");
        StringAssert.Contains(output, "RELOADED=yes", "reload signals the agent, which converges at once");
        StringAssert.Contains(output, "running: rc-service hawser-agent stop");
        StringAssert.Contains(output, "running: rc-update del hawser-agent default");
        StringAssert.Contains(output, "UNINSTALL=0");
        StringAssert.Contains(output, "AFTER=gone", "uninstall stopped the supervised agent");
        StringAssert.Contains(output, "/etc/init.d/hawser-agent': No such file or directory");
        StringAssert.Contains(output, "/etc/conf.d/hawser-agent': No such file or directory");
        StringAssert.Contains(output, "/usr/local/bin/hawser-agent': No such file or directory");
        StringAssert.Contains(output, "/var/lib/hawser/node.crt\n", "the identity stays without --purge");
        StringAssert.Contains(nodes.StandardOutput, "\"rc1\"", "the controller knows the node");
    }

    [TestMethod]
    public async Task Install_with_a_wrong_join_token_fails_with_the_agents_own_log()
    {
        var agent = await ReleaseBuild.AgentAsync();
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        using var temp = new TempDirectory("hawser-openrc-install-");

        var result = await InPrivateHostAsync(temp,
            $"{agent} install --init openrc --controller {controller.Address} --node rc2 --join-token wrong.wrongwrongwrong --ca-hash {controller.CaHash} --wait 00:00:08; echo INSTALL=$?; " +
            "/usr/local/bin/hawser-agent uninstall --purge > /dev/null; echo UNINSTALL=$?");

        StringAssert.Contains(result.StandardOutput, "the agent has not enrolled after 8 s", result.Output);
        StringAssert.Contains(result.StandardOutput, "/var/log/hawser/agent.log:");
        StringAssert.Contains(result.StandardOutput, "join token", "the log says why");
        StringAssert.Contains(result.StandardOutput, "INSTALL=1");
        StringAssert.Contains(result.StandardOutput, "UNINSTALL=0");
    }

    [TestMethod]
    public async Task Under_OpenRC_the_installed_agent_switches_itself_to_a_published_release_in_place_and_stays_supervised()
    {
        using var data = new TempDirectory();
        var (controller, agent, shaA, shaB, token) = await ReleaseBDesiredAsync(data, "rc3");
        await using var _ = controller;
        using var temp = new TempDirectory("hawser-openrc-upgrade-");
        var running = $"pgrep -f '[h]awser-agent run --controller {controller.Address}'";

        // Installed as release A under supervise-daemon; then wait (up to 4 minutes) until the agent has switched and the new
        // binary connected again, reading the service's own log.
        var result = await InPrivateHostAsync(temp,
            $"{agent} install --init openrc --controller {controller.Address} --node rc3 --join-token {token} --ca-hash {controller.CaHash} --wait 00:01:00 > /dev/null; echo INSTALL=$?; " +
            $"echo PID_BEFORE=$({running}); " +
            "for i in $(seq 240); do awk '/switched agent/ { s = 1 } s && /connected to/ { f = 1 } END { exit !f }' /var/log/hawser/agent.log && break; sleep 1; done; " +
            $"echo PID_AFTER=$({running}); rc-service hawser-agent status; " +
            "echo SHA=$(sha256sum /usr/local/bin/hawser-agent | cut -d' ' -f1); echo PREVIOUS=$(sha256sum /usr/local/bin/hawser-agent.previous | cut -d' ' -f1); " +
            $"/usr/local/bin/hawser-agent --version; rc-service hawser-agent stop > /dev/null; sleep 1; {running} > /dev/null || echo AFTER=gone; " +
            "echo LOG:; cat /var/log/hawser/agent.log; /usr/local/bin/hawser-agent uninstall --purge > /dev/null", minutes: 6);

        var output = result.StandardOutput;
        StringAssert.Contains(output, "INSTALL=0", result.Output);
        StringAssert.Contains(output, $"switched agent {ReleaseBuild.Version} to {B}", result.Output);
        StringAssert.Contains(output, $"SHA={shaB}\n", "the installed binary is release B's");
        StringAssert.Contains(output, $"PREVIOUS={shaA}\n", "release A is kept as .previous");
        StringAssert.StartsWith(output.Split('\n').Single(l => l.StartsWith("0.0.", StringComparison.Ordinal)), B, result.Output);
        var before = output.Split('\n').Single(l => l.StartsWith("PID_BEFORE=", StringComparison.Ordinal))["PID_BEFORE=".Length..];
        Assert.AreNotEqual("", before, result.Output);
        StringAssert.Contains(output, $"PID_AFTER={before}\n", "the agent became B in place: supervise-daemon's child kept its process id");
        StringAssert.Contains(result.Output, "status: started", "OpenRC still sees the service started");
        StringAssert.Contains(output, "AFTER=gone", "stopping the service stops release B: supervise-daemon still supervises it");
        var node = await StatusAsync(controller, "rc3");
        Assert.AreEqual(B, JsonDocument.Parse(node.StandardOutput).RootElement.GetProperty("agentVersion").GetString(), node.Output);
    }

    [TestMethod]
    public async Task Under_systemd_the_installed_agent_switches_itself_to_a_published_release_in_place_and_its_unit_keeps_it()
    {
        using var data = new TempDirectory();
        var (controller, agent, shaA, shaB, token) = await ReleaseBDesiredAsync(data, "sd1");
        await using var _ = controller;

        using var host = await SystemdHost.BootAsync();
        File.Copy(agent, Path.Combine(host.Share, "hawser-agent"));
        Directory.CreateDirectory(Path.Combine(host.Etc, "hawser"));
        File.WriteAllText(Path.Combine(host.Etc, "hawser", "agent.yaml"), "acmeChallenge: {listen: none}\n");
        var install = await host.RunAsync($"/run/share/hawser-agent install --init systemd --controller {controller.Address} --node sd1 --join-token {token} --ca-hash {controller.CaHash} --wait 00:01:00");
        Assert.AreEqual(0, install.ExitCode, install.Output);
        StringAssert.Contains(install.StandardOutput, "running: systemctl enable --now hawser-agent", install.Output);
        async Task<string> MainPidAsync() => (await host.RunAsync("systemctl show -p MainPID --value hawser-agent")).StandardOutput.Trim();
        var before = await MainPidAsync();

        // The switch, as the unit's journal tells it: B tried, then switched to, then connected again.
        var journal = "";
        var switched = await Poll.UntilAsync(async () =>
        {
            journal = (await host.RunAsync("journalctl -u hawser-agent --no-pager -o cat")).StandardOutput;
            var at = journal.IndexOf($"switched agent {ReleaseBuild.Version} to {B}", StringComparison.Ordinal);
            return at >= 0 && journal.IndexOf("connected to", at, StringComparison.Ordinal) > at;
        }, TimeSpan.FromMinutes(4));
        Assert.IsTrue(switched, "no switch to B in the unit's journal:\n" + journal);
        Assert.AreEqual(before, await MainPidAsync(), "the agent became B in place: systemd's main process kept its id\n" + journal);
        Assert.AreEqual("active", (await host.RunAsync("systemctl is-active hawser-agent")).StandardOutput.Trim(), journal);
        var files = (await host.RunAsync("sha256sum /usr/local/bin/hawser-agent /usr/local/bin/hawser-agent.previous")).StandardOutput;
        StringAssert.Contains(files, $"{shaB}  /usr/local/bin/hawser-agent\n", "the installed binary is release B's (written under the unit's ProtectSystem=strict)");
        StringAssert.Contains(files, $"{shaA}  /usr/local/bin/hawser-agent.previous\n", "release A is kept as .previous");
        var node = await StatusAsync(controller, "sd1");
        Assert.AreEqual(B, JsonDocument.Parse(node.StandardOutput).RootElement.GetProperty("agentVersion").GetString(), node.Output);

        // systemd still manages it: stop ends release B.
        Assert.AreEqual(0, (await host.RunAsync("systemctl stop hawser-agent")).ExitCode);
        Assert.AreEqual("0", await MainPidAsync(), "stopped");
        Assert.IsFalse((await host.RunAsync("pgrep -f '[h]awser-agent run'")).StandardOutput.Trim().Length > 0, "no agent left running after stop");
    }
}
