using System.Text.Json;
using Hawser.Agent.Upgrade;
using Hawser.TestSupport;

namespace Hawser.Packaging.Tests;

/// <summary>
/// Issue 30's switch, with real release builds: the agent of release A (the shared build) runs from its own copy, release B
/// (this code built as 0.0.2-b and signed with the same key) is published, and the spec naming B moves it: a trial start of B,
/// then B in place of A with A kept as .previous, in the same process. A release C that cannot start (B cut short, validly
/// signed) fails its trial: the node stays on B, says why, and its binary is untouched. An arm64 agent (run by the kernel through
/// binfmt_misc and qemu-user-static) switches to B's arm64 binary. The switch under systemd and OpenRC: AgentServiceInstallTests.
/// </summary>
[TestClass]
public sealed class AgentUpgradeTests
{
    private const string B = "0.0.2-b";

    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) => CtlIn(null, controller, arguments);

    /// <summary>hawserctl, run in <paramref name="ns"/> (where the controller listens) when given.</summary>
    private static Task<ProcessResult> CtlIn(NetworkNamespace? ns, ControllerProcess controller, params string[] arguments) => ns is null
        ? HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments])
        : HawserProcesses.RunInAsync(ns, "hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    private static async Task<JsonElement> NodeAsync(ControllerProcess controller, string node, NetworkNamespace? ns = null)
    {
        var status = await CtlIn(ns, controller, "status", node, "-o", "json");
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
        var shaA = ReleaseBuild.Sha256Of(current);
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
        Assert.AreEqual(ReleaseBuild.Sha256Of(binaryB), ReleaseBuild.Sha256Of(current), "the binary web1 runs from is B's");
        Assert.AreEqual(shaA, ReleaseBuild.Sha256Of(current + ".previous"), "A is kept as .previous");
        Assert.IsFalse(File.Exists(current + ".next"));
        Assert.AreEqual(pid, agent.Pid);
        Assert.IsFalse(agent.HasExited, agent.Output);
        StringAssert.Contains(agent.Output, $"switched agent {ReleaseBuild.Version} to {B}", agent.Output);
        Assert.AreEqual("600", File.ReadAllText(host.PathOf("/proc-sys/net/ipv4/tcp_keepalive_time")).Trim(), "the rest of the spec applied too");

        // Release C: B cut short (its ELF header intact), signed by the release key. Its trial fails; web1 stays on B.
        using var releaseC = new TempDirectory("hawser-release-c-");
        await ReleaseBuild.WriteSignedReleaseAsync(releaseC.Path, File.ReadAllBytes(binaryB)[..(64 * 1024)], "0.0.3-c");
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
        Assert.AreEqual(ReleaseBuild.Sha256Of(binaryB), ReleaseBuild.Sha256Of(current), "the binary is still B's");
        Assert.IsFalse(File.Exists(current + ".next"));
        Assert.AreEqual(pid, agent.Pid);
        var node = (await NodeAsync(controller, "web1"));
        Assert.AreEqual(B, node.GetProperty("agentVersion").GetString());
        Assert.IsTrue(node.GetProperty("connected").GetBoolean(), "web1 reconnected after the trial");
    }

    /// <summary>
    /// Starts release A for <paramref name="node"/> from a copy of its own; returns the agent and the binary's path. In a host
    /// without a namespace of its own the agent's sysctls go to a directory under its root.
    /// </summary>
    private static async Task<(AgentProcess Agent, string Binary)> StartAAsync(ControllerProcess controller, AgentHost host, TempDirectory bin, string node, string token)
    {
        var current = Path.Combine(bin.Path, node, "hawser-agent");
        Directory.CreateDirectory(Path.GetDirectoryName(current)!);
        File.Copy(await ReleaseBuild.AgentAsync("x64"), current);
        host.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
        host.WriteFile("/proc-sys/net/ipv4/tcp_keepalive_time", "7200\n");
        string[] procSys = host.Namespace is null ? ["--proc-sys", host.PathOf("/proc-sys")] : [];
        var agent = AgentProcess.StartBinary(current, host, node, controller.Address, ["--join-token", token, "--ca-hash", controller.CaHash, .. procSys]);
        await agent.WaitForAsync("connected to");
        return (agent, current);
    }

    private const string WebNodes = "apiVersion: hawser/v1\nnodes:\n  web1: {labels: {role: web}}\n  web2: {labels: {role: web}}\n  web3: {labels: {role: web}}\n";

    private static async Task<ulong> RolloutAsync(ControllerProcess controller, string directory, string name, string version, params string[] options) =>
        await RolloutInAsync(null, controller, directory, name, version, options);

    private static async Task<ulong> RolloutInAsync(NetworkNamespace? ns, ControllerProcess controller, string directory, string name, string version, params string[] options)
    {
        var spec = Path.Combine(directory, name);
        File.WriteAllText(spec, WebNodes +
            $"profiles:\n  web:\n    selector: {{role: web}}\n    agent: {{version: \"{version}\"}}\n    sysctls: {{net.ipv4.tcp_keepalive_time: \"600\"}}\n");
        var applied = await CtlIn(ns, controller, ["apply", "-f", spec, "--rollout", "--batch", "1", .. options, "-o", "json"]);
        Assert.AreEqual(0, applied.ExitCode, applied.Output);
        return JsonDocument.Parse(applied.StandardOutput).RootElement.GetProperty("rolloutId").GetUInt64();
    }

    private static async Task<JsonElement> WaitRolloutAsync(ControllerProcess controller, ulong id, string state, IEnumerable<AgentProcess> agents, NetworkNamespace? ns = null)
    {
        JsonElement rollout = default;
        var reached = await Poll.UntilAsync(async () =>
        {
            var status = await CtlIn(ns, controller, "rollout", "status", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "json");
            rollout = JsonDocument.Parse(status.StandardOutput).RootElement.Clone();
            return rollout.GetProperty("state").GetString() == state;
        }, TimeSpan.FromMinutes(4));
        Assert.IsTrue(reached, $"rollout {id} did not become {state}: {rollout}\n{string.Join("\n", agents.Select(a => a.Node + ":\n" + a.Output))}");
        return rollout;
    }

    /// <summary>Every file under the host's /etc, by path, with its content.</summary>
    private static Dictionary<string, string> EtcOf(AgentHost host) =>
        Directory.EnumerateFiles(host.PathOf("/etc"), "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllText);

    [TestMethod]
    public async Task A_rollout_in_batches_of_one_moves_three_agents_to_B_and_one_whose_trial_fails_pauses_it_with_the_others_untouched()
    {
        var releaseB = await ReleaseBuild.OtherVersionAsync(B);
        var shaB = ReleaseBuild.Sha256Of(Path.Combine(releaseB, "linux-x64", "hawser-agent"));
        // Three hosts, each a network namespace of its own on a bridge to the controller's.
        using var net = await FleetNetwork.CreateAsync();
        var hub = net.Hub;
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, $"{FleetNetwork.ControllerAddress}:7443", hub, "--release-key", ReleaseBuild.PublicKey);
        Assert.AreEqual(0, (await CtlIn(hub, controller, "agent", "publish", releaseB)).ExitCode);
        var token = JsonDocument.Parse((await CtlIn(hub, controller, "token", "create", "--uses", "3", "-o", "json")).StandardOutput).RootElement.GetProperty("token").GetString()!;
        using var bin = new TempDirectory("hawser-agent-bin-");
        var hosts = new List<AgentHost>();
        var agents = new List<(AgentProcess Agent, string Binary)>();
        try
        {
            for (var i = 1; i <= 3; i++)
            {
                hosts.Add(new AgentHost(await net.AddHostAsync($"web{i}", i)));
                agents.Add(await StartAAsync(controller, hosts[^1], bin, $"web{i}", token));
            }
            var shaA = ReleaseBuild.Sha256Of(agents[0].Binary);
            // Revision 1 sets the sysctl on every node; the rollout to B then changes nothing but the agent.
            var first = Path.Combine(data.Path, "a.yaml");
            File.WriteAllText(first, WebNodes + "profiles:\n  web:\n    selector: {role: web}\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");
            var applied = await CtlIn(hub, controller, "apply", "-f", first);
            Assert.AreEqual(0, applied.ExitCode, applied.Output);
            var etcBefore = hosts.Select(EtcOf).ToList();

            // A 10 s pause between batches: the issue's figure (Hawser's --hold is how long --check URLs keep passing;
            // an agent's own gate is its trial and its report of the revision).
            var started = DateTime.UtcNow;
            var toB = await RolloutInAsync(hub, controller, data.Path, "b.yaml", B, "--pause", "10s");
            var done = await WaitRolloutAsync(controller, toB, "done", agents.Select(a => a.Agent), hub);
            Console.WriteLine($"figure: 3 agents in network namespaces moved to {B} in batches of one with a 10 s pause between batches in {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
            for (var i = 0; i < 3; i++)
            {
                var (agent, binary) = agents[i];
                var node = await NodeAsync(controller, agent.Node, hub);
                Assert.AreEqual(B, node.GetProperty("agentVersion").GetString(), agent.Output);
                Assert.AreEqual(shaB, ReleaseBuild.Sha256Of(binary), agent.Node);
                Assert.AreEqual(shaA, ReleaseBuild.Sha256Of(binary + ".previous"), agent.Node);
                Assert.IsFalse(agent.HasExited, agent.Output);
                // Nothing else changed: the host's files as before, its sysctl still the spec's.
                var etcAfter = EtcOf(hosts[i]);
                Assert.IsTrue(etcAfter.Count == etcBefore[i].Count && etcAfter.All(f => etcBefore[i].GetValueOrDefault(f.Key) == f.Value), $"{agent.Node}: /etc changed by the upgrade");
                Assert.AreEqual("600", await hosts[i].Namespace!.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"), agent.Node);
            }
            Assert.AreEqual(3, done.GetProperty("nodes").EnumerateArray().Count(n => n.GetProperty("state").GetString() == "healthy"), done.ToString());

            // C cannot start: the first batch's node fails its trial, the rollout pauses, the others are not touched.
            using var releaseC = new TempDirectory("hawser-release-c-");
            await ReleaseBuild.WriteSignedReleaseAsync(releaseC.Path, File.ReadAllBytes(Path.Combine(releaseB, "linux-x64", "hawser-agent"))[..(64 * 1024)], "0.0.3-c");
            Assert.AreEqual(0, (await CtlIn(hub, controller, "agent", "publish", releaseC.Path)).ExitCode);
            var toC = await RolloutInAsync(hub, controller, data.Path, "c.yaml", "0.0.3-c", "--on-failure", "pause");
            var paused = await WaitRolloutAsync(controller, toC, "paused", agents.Select(a => a.Agent), hub);
            var failed = paused.GetProperty("nodes").EnumerateArray().Where(n => n.GetProperty("state").GetString() == "failed").Select(n => n.GetProperty("node").GetString()!).ToList();
            Assert.HasCount(1, failed, paused.ToString());
            StringAssert.Contains(paused.GetProperty("reason").GetString(), "the trial start failed", paused.ToString());
            foreach (var (agent, binary) in agents)
            {
                var node = await NodeAsync(controller, agent.Node, hub);
                Assert.AreEqual(B, node.GetProperty("agentVersion").GetString(), $"{agent.Node} stays on B");
                Assert.AreEqual(shaB, ReleaseBuild.Sha256Of(binary), agent.Node);
                Assert.AreEqual(agent.Node == failed[0], agent.Output.Contains("trying agent 0.0.3-c", StringComparison.Ordinal), $"only {failed[0]} tried C");
            }
        }
        finally
        {
            foreach (var (agent, _) in agents)
            {
                await agent.DisposeAsync();
            }
            foreach (var host in hosts)
            {
                host.Dispose();
            }
        }
    }

    /// <summary>Waits until no process runs <paramref name="binary"/> (a trial left behind by a killed agent must stop on its own).</summary>
    private static async Task WaitNoProcessAsync(string binary)
    {
        bool Running() => Directory.EnumerateDirectories("/proc").Any(d =>
        {
            try
            {
                return int.TryParse(Path.GetFileName(d), out _) && File.ReadAllText(Path.Combine(d, "cmdline")).Split('\0')[0] == binary;
            }
            catch (IOException)
            {
                return false;
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        });
        Assert.IsTrue(await Poll.UntilAsync(() => Task.FromResult(!Running()), TimeSpan.FromSeconds(30)), $"{binary} still runs after the agent that started it was killed");
    }

    [TestMethod]
    public async Task A_kill_at_any_point_of_the_switch_leaves_one_whole_binary_that_connects_and_moves_on_and_a_crash_loop_returns_to_the_previous()
    {
        var releaseB = await ReleaseBuild.OtherVersionAsync(B);
        var shaB = ReleaseBuild.Sha256Of(Path.Combine(releaseB, "linux-x64", "hawser-agent"));
        var binaryA = await ReleaseBuild.AgentAsync("x64");
        var shaA = ReleaseBuild.Sha256Of(binaryA);
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--release-key", ReleaseBuild.PublicKey);
        Assert.AreEqual(0, (await Ctl(controller, "agent", "publish", releaseB)).ExitCode);
        using var bin = new TempDirectory("hawser-agent-bin-");
        using var host = new AgentHost();
        var (first, current) = await StartAAsync(controller, host, bin, "web1", await controller.TokenAsync(1));
        var agent = first;
        AgentProcess Restart() => AgentProcess.StartBinary(current, host, "web1", controller.Address, "--proc-sys", host.PathOf("/proc-sys"));
        try
        {
            await ApplyAsync(controller, data.Path, B);
            // The kill-test pattern: the agent killed at a random moment after its trial starts, then started again from
            // whatever binary is current, as its service manager would; every time that binary is A or B whole, and runs.
            var random = new Random(30);
            for (var round = 0; round < 6; round++)
            {
                await agent.WaitForAsync($"trying agent {B}");
                await Task.Delay(random.Next(0, 400));
                await agent.KillAsync();
                await agent.DisposeAsync();
                await WaitNoProcessAsync(current + ".next");
                var sha = ReleaseBuild.Sha256Of(current);
                Assert.IsTrue(sha == shaA || sha == shaB, $"round {round}: the current binary is neither A nor B");
                var version = await ExternalProcess.RunAsync(current, ["--version"], TimeSpan.FromSeconds(30));
                Assert.AreEqual(0, version.ExitCode, version.Output);
                if (sha == shaB)
                {
                    // Switched before the kill: put A back (an operator's hand) for the next round.
                    File.Copy(binaryA, current, overwrite: true);
                    File.Delete(AgentSwitch.RecordPath(host.PathOf("/var/lib/hawser/agent")));
                }
                agent = Restart();
                await agent.WaitForAsync("connected to");
            }
            // The binary first: the controller may still hold the version a killed B said before A was put back.
            var moved = await Poll.UntilAsync(async () => ReleaseBuild.Sha256Of(current) == shaB && (await NodeAsync(controller, "web1")).GetProperty("agentVersion").GetString() == B,
                TimeSpan.FromMinutes(2));
            Assert.IsTrue(moved, agent.Output);

            // B dies right after each start (killed, as the kernel's OOM killer would), started again each time: at the third
            // start within ten minutes of the switch it puts A back and becomes it.
            for (var start = 2; start <= 3; start++)
            {
                await agent.KillAsync();
                await agent.DisposeAsync();
                agent = Restart();
                await agent.WaitForAsync(start < 3 ? "connected to" : $"agent {B} rolled back to {ReleaseBuild.Version}");
            }
            await agent.WaitForAsync("connected to");
            Assert.AreEqual(shaA, ReleaseBuild.Sha256Of(current), "A is current again");
            string error = "";
            var said = await Poll.UntilAsync(async () =>
            {
                var node = await NodeAsync(controller, "web1");
                error = node.GetProperty("detail").EnumerateArray().FirstOrDefault(r => r.GetProperty("kind").GetString() == "agent") is { ValueKind: JsonValueKind.Object } r
                    ? r.GetProperty("error").GetString()! : "";
                return node.GetProperty("agentVersion").GetString() == ReleaseBuild.Version && error.Contains("a crash loop", StringComparison.Ordinal);
            }, TimeSpan.FromMinutes(2));
            Assert.IsTrue(said, $"web1 did not report the crash loop on A; last error «{error}»\n{agent.Output}");
            StringAssert.Contains(error, $"still running {ReleaseBuild.Version}", error);
        }
        finally
        {
            await agent.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task An_arm64_agent_switches_to_the_arm64_binary_of_a_release_never_the_x64_one()
    {
        // An arm64 host as far as the agent can tell: the kernel starts its binaries (and its trial's) through binfmt_misc and
        // qemu-user-static, with Debian's arm64 libraries (multiarch).
        Assert.IsTrue(File.Exists("/proc/sys/fs/binfmt_misc/qemu-aarch64"),
            "qemu-user-static's aarch64 handler is not registered with binfmt_misc (scripts/install-deps.sh registers it)");
        var releaseB = await ReleaseBuild.OtherVersionAsync(B);
        var armA = await ReleaseBuild.AgentAsync("arm64");
        var x64A = await ReleaseBuild.AgentAsync("x64");
        var armB = Path.Combine(releaseB, "linux-arm64", "hawser-agent");
        var x64B = Path.Combine(releaseB, "linux-x64", "hawser-agent");
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--release-key", ReleaseBuild.PublicKey);

        // Release 0.0.4 exists for x64 only; a revision naming it for arm1 is stored before arm1 enrolled (its architecture unknown).
        using (var x64Only = new TempDirectory("hawser-release-x64-"))
        {
            await ReleaseBuild.WriteSignedReleaseAsync(x64Only.Path, File.ReadAllBytes(x64A), "0.0.4");
            Assert.AreEqual(0, (await Ctl(controller, "agent", "publish", x64Only.Path)).ExitCode);
        }
        var spec = Path.Combine(data.Path, "arm.yaml");
        File.WriteAllText(spec, "apiVersion: hawser/v1\nnodes:\n  arm1: {agent: {version: \"0.0.4\"}}\n");
        var stored = await Ctl(controller, "apply", "-f", spec, "--store-only", "-o", "json");
        Assert.AreEqual(0, stored.ExitCode, stored.Output);
        var revision = JsonDocument.Parse(stored.StandardOutput).RootElement.GetProperty("revision").GetUInt64();

        using var bin = new TempDirectory("hawser-agent-bin-");
        var current = Path.Combine(bin.Path, "hawser-agent");
        File.Copy(armA, current);
        using var host = new AgentHost();
        host.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
        await using var agent = AgentProcess.StartBinary(current, host, "arm1", controller.Address, "--join-token", await controller.TokenAsync(1),
            "--ca-hash", controller.CaHash, "--proc-sys", host.PathOf("/proc-sys"));
        await agent.WaitForAsync("connected to", TimeSpan.FromMinutes(3));
        string? Architecture(JsonElement node) => node.TryGetProperty("host", out var facts) && facts.ValueKind == JsonValueKind.Object ? facts.GetProperty("architecture").GetString() : null;
        Assert.IsTrue(await Poll.UntilAsync(async () => Architecture(await NodeAsync(controller, "arm1")) == "arm64", TimeSpan.FromSeconds(60)), "arm1 reports arm64");

        // Starting that stored revision now is refused as apply would refuse it: nothing of 0.0.4 exists for arm64.
        var start = await Ctl(controller, "rollout", "start", revision.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.AreEqual(1, start.ExitCode, start.Output);
        StringAssert.Contains(start.StandardError, "node 'arm1': agent: release 0.0.4 is not published for arm64", start.Output);

        // Release B for both architectures: arm1 fetches the arm64 binary, tries it, and becomes it.
        Assert.AreEqual(0, (await Ctl(controller, "agent", "publish", releaseB)).ExitCode);
        File.WriteAllText(spec, $"apiVersion: hawser/v1\nnodes:\n  arm1: {{agent: {{version: \"{B}\"}}}}\n");
        Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);
        // The trial says B first; done is the switch, then B connecting as the agent itself.
        bool Switched()
        {
            var at = agent.Output.IndexOf($"switched agent {ReleaseBuild.Version} to {B}", StringComparison.Ordinal);
            return at >= 0 && agent.Output.IndexOf("connected to", at, StringComparison.Ordinal) > at;
        }
        Assert.IsTrue(await Poll.UntilAsync(() => Task.FromResult(Switched()), TimeSpan.FromMinutes(4)), "arm1 never switched to " + B + ":\n" + agent.Output);
        Assert.AreEqual(B, (await NodeAsync(controller, "arm1")).GetProperty("agentVersion").GetString());
        Assert.AreEqual(ReleaseBuild.Sha256Of(armB), ReleaseBuild.Sha256Of(current), "arm1 runs release B's arm64 binary");
        Assert.AreEqual(ReleaseBuild.Sha256Of(armA), ReleaseBuild.Sha256Of(current + ".previous"), "release A's arm64 binary is kept as .previous");
        var x64 = new[] { ReleaseBuild.Sha256Of(x64A), ReleaseBuild.Sha256Of(x64B) };
        var written = Directory.EnumerateFiles(host.Root, "*", SearchOption.AllDirectories).Concat(Directory.EnumerateFiles(bin.Path));
        Assert.IsFalse(written.Any(f => x64.Contains(ReleaseBuild.Sha256Of(f))), "an x64 binary was written on the arm64 host");
        Assert.IsFalse(agent.HasExited, agent.Output);
    }

    [TestMethod]
    public async Task An_agent_installed_from_the_deb_is_left_to_the_package_manager_and_says_so()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--release-key", ReleaseBuild.PublicKey);
        using (var release = new TempDirectory("hawser-release-as-"))
        {
            await ReleaseBuild.WriteSignedReleaseAsync(release.Path, File.ReadAllBytes(await ReleaseBuild.AgentAsync("x64")), "0.0.5");
            Assert.AreEqual(0, (await Ctl(controller, "agent", "publish", release.Path)).ExitCode);
        }
        // dpkg installs the release's .deb for real, into overlays of /usr, /etc and dpkg's database in a private mount
        // namespace (the machine's own stay as they were); the agent then runs from the package's /usr/bin/hawser-agent.
        var deb = await ReleaseBuild.AgentDebAsync("amd64");
        using var sandbox = new TempDirectory("hawser-deb-host-");
        var overlays = string.Join(" && ", new[] { "/usr", "/etc", "/var/lib/dpkg" }.Select((dir, i) =>
            $"mkdir -p {sandbox.Path}/u{i} {sandbox.Path}/w{i} && mount -t overlay overlay -o lowerdir={dir},upperdir={sandbox.Path}/u{i},workdir={sandbox.Path}/w{i} {dir}"));
        string[] launcher = ["unshare", "-m", "sh", "-c", $"mount --make-rprivate / && {overlays} && dpkg --log=/dev/null -i {deb} >&2 && exec \"$0\" \"$@\""];
        using var host = new AgentHost();
        host.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
        await using var agent = AgentProcess.StartUnder(launcher, "/usr/bin/hawser-agent", host, "deb1", controller.Address,
            "--join-token", await controller.TokenAsync(1), "--ca-hash", controller.CaHash, "--proc-sys", host.PathOf("/proc-sys"));
        await agent.WaitForAsync("connected to");
        StringAssert.Contains(agent.Output, "Setting up hawser-agent", "dpkg installed the package");

        var spec = Path.Combine(data.Path, "deb.yaml");
        File.WriteAllText(spec, "apiVersion: hawser/v1\nnodes:\n  deb1: {agent: {version: \"0.0.5\"}}\n");
        Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);
        string Error(JsonElement node) => node.GetProperty("detail").EnumerateArray().Where(r => r.GetProperty("kind").GetString() == "agent")
            .Select(r => r.GetProperty("error").GetString()).FirstOrDefault() ?? "";
        Assert.IsTrue(await Poll.UntilAsync(async () => Error(await NodeAsync(controller, "deb1")).Length > 0, TimeSpan.FromMinutes(2)), agent.Output);
        var error = Error(await NodeAsync(controller, "deb1"));
        StringAssert.Contains(error, "agent 0.0.5: this agent runs from a file of the Debian package hawser-agent; upgrade it with the package manager", error);
        // Nothing fetched, nothing written beside the package's binary (the overlay's upper layer holds what changed in /usr).
        Assert.IsFalse(Directory.Exists(host.PathOf("/var/lib/hawser/agent")) && Directory.EnumerateFileSystemEntries(host.PathOf("/var/lib/hawser/agent")).Any(),
            "a release was fetched for a packaged agent");
        CollectionAssert.AreEquivalent(new[] { "hawser-agent" }, Directory.GetFiles(Path.Combine(sandbox.Path, "u0", "bin")).Select(Path.GetFileName).ToArray(),
            "only dpkg wrote /usr/bin");
    }
}
