using System.Diagnostics;
using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>
/// The firewall kind against Debian's ufw, enabled inside a network namespace (its /etc/ufw and
/// /etc/default bind-mounted from the test root in a private mount namespace), with traffic: a peer
/// namespace connects over IPv6 to a static service address behind the host (forwarded, as to a
/// container) and to the host itself, before and after the agent applies the rules.
/// </summary>
[TestClass]
public sealed class FirewallTests
{
    private const string Service = "fd68:6177::b:80";
    private const string HostAddress = "fd68:6177::a:2";

    // Accepts connections on every port given, forever; says "listening" once all are bound.
    private const string Listener = """
        import socket, sys, threading
        def serve(port):
            s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::", port)); s.listen(16); ready.release()
            while True: s.accept()[0].close()
        ready = threading.Semaphore(0)
        ports = [int(p) for p in sys.argv[1:]]
        for p in ports: threading.Thread(target=serve, args=(p,), daemon=True).start()
        for p in ports: ready.acquire()
        print("listening", flush=True)
        threading.Event().wait()
        """;

    private const string Probe = """
        import socket, sys
        try:
            socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20).close(); print("connected")
        except OSError as e:
            print("refused: %s" % e); sys.exit(3)
        """;

    [TestMethod]
    public async Task Rules_open_an_allowed_port_to_the_static_address_and_the_host_and_nothing_else_and_go_when_removed()
    {
        using var host = await NetworkNamespace.CreateAsync("fw");
        using var peer = await NetworkNamespace.CreateAsync("fwpeer");
        using var service = await NetworkNamespace.CreateAsync("fwsvc");
        await NetworkNamespace.LinkAsync(peer, "p0", "fd68:6177::a:1/112", host, "h0", HostAddress + "/112");
        await NetworkNamespace.LinkAsync(host, "h1", "fd68:6177::b:1/112", service, "s0", Service + "/112");
        await peer.ExecAsync("ip", "-6", "route", "add", "fd68:6177::b:0/112", "via", HostAddress);
        await service.ExecAsync("ip", "-6", "route", "add", "default", "via", "fd68:6177::b:1");
        await host.ExecAsync("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");

        using var agentHost = new AgentHost(host);
        Directory.CreateDirectory(agentHost.PathOf("/etc/default"));
        await ExternalProcess.RunAsync("cp", ["-a", "/etc/ufw", agentHost.PathOf("/etc/ufw")]);
        // Rejecting (not dropping) makes a refused connection end at once instead of timing out.
        var defaults = File.ReadAllText("/etc/default/ufw")
            .Replace("DEFAULT_INPUT_POLICY=\"DROP\"", "DEFAULT_INPUT_POLICY=\"REJECT\"", StringComparison.Ordinal)
            .Replace("DEFAULT_FORWARD_POLICY=\"DROP\"", "DEFAULT_FORWARD_POLICY=\"REJECT\"", StringComparison.Ordinal);
        agentHost.WriteFile("/etc/default/ufw", defaults);
        await Ufw(host, agentHost, "ufw --force enable");
        await Ufw(host, agentHost, "ufw allow proto udp from any to any port 53 comment 'operator: dns'");

        using var serviceListener = await ListenAsync(service, 80, 8080);
        using var hostListener = await ListenAsync(host, 2222, 2223);
        Assert.IsFalse(await ConnectsAsync(peer, Service, 80), "ufw refuses forwarded traffic before any rule");
        Assert.IsFalse(await ConnectsAsync(peer, HostAddress, 2222), "ufw refuses the host's port before any rule");

        var spec = agentHost.WriteSpec($$"""
            apiVersion: hawser/v1
            nodes:
              bee2:
                firewall:
                  rules:
                    - {allow: tcp, port: [80, 443], to: "{{Service}}", from: any}
                    - {allow: tcp, port: 2222}
            """);
        var dry = await Agent(host, agentHost, spec, "--dry-run");
        Assert.AreEqual(2, dry.ExitCode, dry.Output);
        StringAssert.Contains(dry.StandardOutput, $"ufw route allow proto tcp from any to {Service} port 80,443 comment 'managed by hawser': (absent) -> rule");
        StringAssert.Contains(dry.StandardOutput, "ufw allow proto tcp from any to any port 2222 comment 'managed by hawser': (absent) -> rule");
        Assert.IsFalse(await ConnectsAsync(peer, Service, 80), "a dry run changes nothing");

        var apply = await Agent(host, agentHost, spec);
        Assert.AreEqual(0, apply.ExitCode, apply.Output);
        Assert.IsTrue(await ConnectsAsync(peer, Service, 80), "the allowed port of the static address is open");
        Assert.IsFalse(await ConnectsAsync(peer, Service, 8080), "another port of the static address stays closed");
        Assert.IsTrue(await ConnectsAsync(peer, HostAddress, 2222), "the host's allowed port is open");
        Assert.IsFalse(await ConnectsAsync(peer, HostAddress, 2223), "the host's other port stays closed");
        var again = await Agent(host, agentHost, spec);
        StringAssert.Contains(again.StandardOutput, "1 in sync, 0 changed", again.Output);

        // One rule fewer: only that rule goes.
        spec = agentHost.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              bee2:
                firewall:
                  rules:
                    - {allow: tcp, port: 2222}
            """);
        var fewer = await Agent(host, agentHost, spec);
        Assert.AreEqual(0, fewer.ExitCode, fewer.Output);
        StringAssert.Contains(fewer.StandardOutput, $"ufw --force route delete allow proto tcp from any to {Service} port 80,443: rule -> (absent)");
        Assert.IsFalse(await ConnectsAsync(peer, Service, 80), "the removed rule's port is closed again");
        Assert.IsTrue(await ConnectsAsync(peer, HostAddress, 2222));

        // The block gone: Hawser's rules go, the operator's stays.
        spec = agentHost.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              bee2:
                sysctls: {net.ipv6.conf.all.forwarding: "1"}
            """);
        var gone = await Agent(host, agentHost, spec);
        Assert.AreEqual(0, gone.ExitCode, gone.Output);
        Assert.IsFalse(await ConnectsAsync(peer, HostAddress, 2222), "no rule of Hawser's is left");
        var added = (await Ufw(host, agentHost, "ufw show added")).StandardOutput;
        Assert.IsFalse(added.Contains("managed by hawser", StringComparison.Ordinal), added);
        StringAssert.Contains(added, "comment 'operator: dns'", "a rule Hawser did not make is never touched");
    }

    [TestMethod]
    public async Task An_operators_rules_for_the_same_traffic_fail_the_resource_and_are_never_changed_or_deleted()
    {
        using var host = await NetworkNamespace.CreateAsync("fwown");
        using var agentHost = new AgentHost(host);
        Directory.CreateDirectory(agentHost.PathOf("/etc/default"));
        await ExternalProcess.RunAsync("cp", ["-a", "/etc/ufw", agentHost.PathOf("/etc/ufw")]);
        agentHost.WriteFile("/etc/default/ufw", File.ReadAllText("/etc/default/ufw"));
        await Ufw(host, agentHost, "ufw --force enable");
        // The operator's own rules, in ufw's own files: an allow with a comment, a deny without one, and one that
        // carries Hawser's comment (anyone can write a comment; only Hawser's state says what Hawser added).
        await Ufw(host, agentHost, "ufw allow proto tcp from any to any port 2222 comment 'operator: ssh'");
        await Ufw(host, agentHost, "ufw deny proto tcp from any to any port 3333");
        await Ufw(host, agentHost, "ufw allow proto tcp from any to any port 4444 comment 'managed by hawser'");
        var before = (await Ufw(host, agentHost, "ufw show added")).StandardOutput;
        agentHost.WriteFile("/var/lib/hawser/state.json", "{\"version\": 1, \"firewallRules\": []}\n");
        var spec = agentHost.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              bee2:
                firewall:
                  rules:
                    - {allow: tcp, port: 2222}
                    - {allow: tcp, port: 3333}
                    - {allow: tcp, port: 5555}
            """);

        var dry = await Agent(host, agentHost, spec, "--dry-run");
        var apply = await Agent(host, agentHost, spec);

        Assert.AreEqual(1, dry.ExitCode, dry.Output);
        StringAssert.Contains(dry.StandardOutput, "rule 'allow proto tcp from any to any port 2222' is for the same traffic as a rule Hawser did not add, 'allow tcp port 2222 from any to any' (comment 'operator: ssh') in /etc/ufw/user.rules");
        StringAssert.Contains(dry.StandardOutput, "'deny tcp port 3333 from any to any' in /etc/ufw/user.rules");
        Assert.AreEqual(1, apply.ExitCode, apply.Output);
        StringAssert.Contains(apply.StandardOutput, "Hawser never changes or deletes an operator's rule");
        Assert.AreEqual(before, (await Ufw(host, agentHost, "ufw show added")).StandardOutput, "nothing of the operator's changed");

        // Without the colliding rules the spec applies; then the block goes, and only the rule Hawser added goes with it.
        spec = agentHost.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              bee2:
                firewall:
                  rules: [{allow: tcp, port: 5555}]
            """);
        var applied = await Agent(host, agentHost, spec);
        Assert.AreEqual(0, applied.ExitCode, applied.Output);
        StringAssert.Contains((await Ufw(host, agentHost, "ufw show added")).StandardOutput, "ufw allow 5555/tcp comment 'managed by hawser'");
        spec = agentHost.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              bee2:
                sysctls: {net.ipv6.conf.all.forwarding: "1"}
            """);
        var gone = await Agent(host, agentHost, spec);

        Assert.AreEqual(0, gone.ExitCode, gone.Output);
        var after = (await Ufw(host, agentHost, "ufw show added")).StandardOutput;
        Assert.DoesNotContain("5555", after);
        StringAssert.Contains(after, "ufw allow 2222/tcp comment 'operator: ssh'");
        StringAssert.Contains(after, "ufw deny 3333/tcp");
        StringAssert.Contains(after, "ufw allow 4444/tcp comment 'managed by hawser'", "a rule with Hawser's comment that Hawser did not add stays");
    }

    [TestMethod]
    public async Task Docker_published_ports_are_named_as_exposed_whatever_ufw_says()
    {
        using var ns = await NetworkNamespace.CreateAsync("fwdock");
        using var agentHost = new AgentHost(ns);
        Directory.CreateDirectory(agentHost.PathOf("/etc"));
        await ExternalProcess.RunAsync("cp", ["-a", "/etc/ufw", agentHost.PathOf("/etc/ufw")]);
        agentHost.WriteFile("/etc/docker/daemon.json", "{}\n");
        using var docker = await DockerDaemon.StartAsync(ns, agentHost.PathOf("/etc/docker/daemon.json"));
        agentHost.WriteFile("/etc/hawser/agent.yaml", docker.AgentConfig);
        await docker.ImportBusyboxAsync();
        await docker.DockerAsync("run", "-d", "--name", "web", "-p", "8080:80", "-p", "127.0.0.1:9090:90", "hawser-test/busybox", "/bin/busybox", "sleep", "300");
        var spec = agentHost.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              bee2:
                firewall:
                  rules: [{deny: tcp, port: 8080}]
            """);

        var dry = await agentHost.ApplyAsync(spec, "bee2", "--dry-run");

        Assert.AreEqual(2, dry.ExitCode, dry.Output);
        StringAssert.Contains(dry.StandardOutput, "warning: container web publishes 0.0.0.0:8080->80/tcp: Docker's own rules accept that traffic before ufw sees it");
        StringAssert.Contains(dry.StandardOutput, "DOCKER-USER");
        Assert.IsFalse(dry.StandardOutput.Contains("9090", StringComparison.Ordinal), "a port published on loopback only is not exposed: " + dry.StandardOutput);
        StringAssert.Contains(dry.StandardOutput, "warning: ufw is not enabled here");
    }

    private static async Task<bool> ConnectsAsync(NetworkNamespace from, string address, int port)
    {
        var result = await from.TryExecAsync("python3", "-c", Probe, address, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return result.ExitCode switch
        {
            0 => true,
            3 => false,
            _ => throw new AssertFailedException(result.Output),
        };
    }

    private static async Task<ProcessHandle> ListenAsync(NetworkNamespace ns, params int[] ports)
    {
        var process = ExternalProcess.Start("nsenter", [$"--net=/run/netns/{ns.Name}", "python3", "-c", Listener, .. ports.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        await ExternalProcess.WaitForLineAsync(process, "listening", TimeSpan.FromSeconds(60));
        return new ProcessHandle(process);
    }

    private static Task<ProcessResult> Agent(NetworkNamespace ns, AgentHost host, string spec, params string[] extra) =>
        InMountNamespace(ns, host, $"dotnet {AgentHost.AgentDll} apply -f {spec} --node bee2 --root {host.Root} {string.Join(' ', extra)}");

    private static async Task<ProcessResult> Ufw(NetworkNamespace ns, AgentHost host, string command)
    {
        var result = await InMountNamespace(ns, host, command);
        Assert.AreEqual(0, result.ExitCode, result.Output);
        return result;
    }

    private static Task<ProcessResult> InMountNamespace(NetworkNamespace ns, AgentHost host, string command) => host.RunWithOwnUfwAsync(ns, command);

    /// <summary>Kills a listener when the test is done with it.</summary>
    private sealed class ProcessHandle(Process process) : IDisposable
    {
        public void Dispose()
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
        }
    }
}
