using System.Net;
using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>
/// The Docker resources against Debian's dockerd, started by the test in its own network namespace
/// with its own directories; the agent restarts it through the agent config's service commands.
/// </summary>
[TestClass]
public sealed class DockerTests
{
    // The test daemon's IPv4 ranges come from the test range too; they are unmanaged keys the agent must keep.
    private const string InitialConfig = """
        {
          "bip": "10.68.0.1/26",
          "default-address-pools": [{"base": "10.68.0.64/26", "size": 28}]
        }
        """;

    private const string Spec = """
        apiVersion: hawser/v1
        nodes:
          bee2:
            docker:
              daemon: {ipv6: true, fixedCidrV6: "fd68:6177:0:0:1::/80", ip6tables: true}
              networks:
                - {name: web, ipv6Subnet: "fd68:6177:0:0:2::/80"}
        """;

    [TestMethod]
    public async Task IPv6_is_turned_on_the_network_made_and_a_container_gets_an_address_from_it()
    {
        using var env = await DockerHost.StartAsync("docker");
        var (ns, host, docker) = (env.Namespace, env.Host, env.Docker);
        var spec = host.WriteSpec(Spec);
        var pidBefore = docker.Pid;

        var apply = await host.ApplyAsync(spec, "bee2");

        Assert.AreEqual(0, apply.ExitCode, apply.Output);
        StringAssert.Contains(apply.StandardOutput, "needs experimental: true for ip6tables");
        Assert.AreNotEqual(pidBefore, docker.Pid, "IPv6 keys need a daemon restart");
        var config = host.ReadFile("/etc/docker/daemon.json");
        StringAssert.Contains(config, "\"bip\": \"10.68.0.1/26\"");
        StringAssert.Contains(config, "\"fixed-cidr-v6\": \"fd68:6177:0:0:1::/80\"");
        StringAssert.Contains(config, "\"experimental\": true");
        Assert.AreEqual("true", await docker.DockerAsync("network", "inspect", "bridge", "--format", "{{.EnableIPv6}}"));
        StringAssert.Contains(await docker.DockerAsync("network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"), "fd68:6177:0:0:1::/80");
        StringAssert.Contains(await docker.DockerAsync("network", "inspect", "web", "--format", "{{json .IPAM.Config}}"), "fd68:6177:0:0:2::/80");

        await docker.ImportBusyboxAsync();
        await docker.DockerAsync("run", "-d", "--name", "app", "--network", "web", "hawser-test/busybox", "/bin/busybox", "sleep", "300");
        var address = IPAddress.Parse(await docker.DockerAsync("inspect", "app", "--format", "{{.NetworkSettings.Networks.web.GlobalIPv6Address}}"));
        Assert.IsTrue(IPNetwork.Parse("fd68:6177:0:0:2::/80").Contains(address), $"{address} is not in the web network's subnet");

        var pidAfter = docker.Pid;
        var again = await host.ApplyAsync(spec, "bee2", "-o", "json");
        Assert.AreEqual(0, again.ExitCode, again.Output);
        StringAssert.Contains(again.StandardOutput, "\"inSync\": 2");
        Assert.AreEqual(pidAfter, docker.Pid, "an in-sync daemon is not restarted");
    }

    [TestMethod]
    public async Task A_subnet_that_differs_is_drift_and_is_replaced_only_when_asked_and_nothing_is_attached()
    {
        using var env = await DockerHost.StartAsync("drift");
        var (ns, host, docker) = (env.Namespace, env.Host, env.Docker);
        await docker.DockerAsync("network", "create", "--ipv6", "--subnet", "fd68:6177:0:0:9::/80", "web");
        await docker.ImportBusyboxAsync();
        await docker.DockerAsync("run", "-d", "--name", "app", "--network", "web", "hawser-test/busybox", "/bin/busybox", "sleep", "300");
        const string Network = """
            apiVersion: hawser/v1
            nodes:
              bee2:
                docker:
                  networks: [{name: web, ipv6Subnet: "fd68:6177:0:0:2::/80"RECREATE}]
            """;

        var drift = await host.ApplyAsync(host.WriteSpec(Network.Replace("RECREATE", "", StringComparison.Ordinal)), "bee2");
        var attached = await host.ApplyAsync(host.WriteSpec(Network.Replace("RECREATE", ", recreate: true", StringComparison.Ordinal), "recreate.yaml"), "bee2");
        await docker.DockerAsync("rm", "-f", "app");
        var replaced = await host.ApplyAsync(host.WriteSpec(Network.Replace("RECREATE", ", recreate: true", StringComparison.Ordinal), "recreate.yaml"), "bee2");

        Assert.AreEqual(1, drift.ExitCode, drift.Output);
        StringAssert.Contains(drift.StandardOutput, "network web exists with IPv6 subnet fd68:6177:0:0:9::/80, the spec wants IPv6 subnet fd68:6177:0:0:2::/80 (drift)");
        Assert.AreEqual(1, attached.ExitCode, attached.Output);
        StringAssert.Contains(attached.StandardOutput, "containers are attached: app");
        Assert.AreEqual(0, replaced.ExitCode, replaced.Output);
        StringAssert.Contains(await docker.DockerAsync("network", "inspect", "web", "--format", "{{json .IPAM.Config}}"), "fd68:6177:0:0:2::/80");
    }

    [TestMethod]
    public async Task A_daemon_that_does_not_come_back_gets_the_old_daemon_json_and_its_error_is_reported()
    {
        using var env = await DockerHost.StartAsync("rollback");
        var (ns, host, docker) = (env.Namespace, env.Host, env.Docker);
        // As a unit file that already passes the key as a flag: dockerd refuses a key set in both places.
        File.WriteAllText(docker.ExtraFlagsFile, "--fixed-cidr-v6 fd68:6177:0:0:3::/80");
        await ns.ExecAsync(docker.RestartScript);
        await WaitForAsync(docker);
        var spec = host.WriteSpec(Spec);

        var apply = await host.ApplyAsync(spec, "bee2");

        Assert.AreEqual(1, apply.ExitCode, apply.Output);
        StringAssert.Contains(apply.StandardOutput, "restored the previous daemon.json and restarted: the daemon is running again");
        StringAssert.Contains(apply.StandardOutput, "specified both as a flag and in the configuration file: fixed-cidr-v6", "the daemon's own error");
        StringAssert.Contains(apply.StandardOutput, "skipped: docker:daemon did not converge");
        Assert.AreEqual(InitialConfig, host.ReadFile("/etc/docker/daemon.json"));
        await WaitForAsync(docker);
        Assert.AreEqual("false", await docker.DockerAsync("network", "inspect", "bridge", "--format", "{{.EnableIPv6}}"));
    }

    [TestMethod]
    public async Task A_daemon_that_dies_in_the_middle_of_a_converge_fails_it_in_words_and_the_next_converge_finishes()
    {
        using var env = await DockerHost.StartAsync("died");
        var (ns, host, docker) = (env.Namespace, env.Host, env.Docker);
        // The restart the agent runs only stops dockerd: the daemon dies in the middle of the converge and stays down.
        host.WriteFile("/etc/hawser/agent.yaml", docker.AgentConfig
            .Replace($"restart: [{docker.RestartScript}]", $"restart: [{docker.StopScript}]", StringComparison.Ordinal)
            .Replace("dockerStartTimeoutSeconds: 30", "dockerStartTimeoutSeconds: 3", StringComparison.Ordinal));
        var spec = host.WriteSpec(Spec);

        var died = await host.ApplyAsync(spec, "bee2");

        Assert.AreEqual(1, died.ExitCode, died.Output);
        StringAssert.Contains(died.StandardOutput, "the daemon is STILL DOWN");
        StringAssert.Contains(died.StandardOutput, "skipped: docker:daemon did not converge");
        Assert.DoesNotContain("   at ", died.Output);
        Assert.AreEqual(InitialConfig, host.ReadFile("/etc/docker/daemon.json"), "the daemon.json it could not start with is rolled back");

        host.WriteFile("/etc/hawser/agent.yaml", docker.AgentConfig);
        await ns.ExecAsync(docker.RestartScript);
        await WaitForAsync(docker);
        var recovered = await host.ApplyAsync(spec, "bee2");

        Assert.AreEqual(0, recovered.ExitCode, recovered.Output);
        StringAssert.Contains(await docker.DockerAsync("network", "inspect", "web", "--format", "{{json .IPAM.Config}}"), "fd68:6177:0:0:2::/80");
    }

    [TestMethod]
    public async Task Certificate_reloads_signal_and_exec_in_a_container_only_when_the_files_changed()
    {
        using var env = await DockerHost.StartAsync("reload");
        var (ns, host, docker) = (env.Namespace, env.Host, env.Docker);
        await docker.ImportBusyboxAsync();
        await docker.DockerAsync("run", "-d", "--name", "proxy", "hawser-test/busybox", "/bin/sh", "-c",
            "trap 'echo hup >> /tmp/hups' HUP; while true; do sleep 0.2; done");
        using var ca = new TestCertificates();
        var (chain, key) = ca.IssuePem("www.example.org");
        host.WriteFile("/etc/ssl/src/fullchain.pem", chain);
        host.WriteFile("/etc/ssl/src/privkey.pem", key);
        var spec = host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              web1:
                certificates:
                  - name: www
                    domains: [www.example.org]
                    source: {cert: /etc/ssl/src/fullchain.pem, key: /etc/ssl/src/privkey.pem}
                    install: [{format: combined, path: /etc/hitch/www.pem}]
                    reload:
                      dockerSignal: {container: proxy, signal: HUP}
                      dockerExec: {container: proxy, command: [/bin/busybox, touch, /tmp/exec-reloaded]}
            """);

        var apply = await host.ApplyAsync(spec, "web1");
        var again = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(0, apply.ExitCode, apply.Output);
        Assert.AreEqual(0, again.ExitCode, again.Output);
        await docker.DockerAsync("exec", "proxy", "/bin/busybox", "test", "-f", "/tmp/exec-reloaded");
        var hups = "";
        for (var i = 0; i < 20 && hups.Length == 0; i++)
        {
            await Task.Delay(100);
            hups = (await docker.TryDockerAsync("exec", "proxy", "/bin/busybox", "cat", "/tmp/hups")).StandardOutput;
        }
        Assert.AreEqual("hup\n", hups, "one HUP: the second, in-sync apply does not reload");
    }

    /// <summary>A namespace, a root holding <see cref="InitialConfig"/>, a dockerd using it, and agent.yaml pointing at that dockerd.</summary>
    private sealed class DockerHost : IDisposable
    {
        private DockerHost(NetworkNamespace ns, AgentHost host, DockerDaemon docker) => (Namespace, Host, Docker) = (ns, host, docker);

        public NetworkNamespace Namespace { get; }

        public AgentHost Host { get; }

        public DockerDaemon Docker { get; }

        public static async Task<DockerHost> StartAsync(string label)
        {
            var ns = await NetworkNamespace.CreateAsync(label);
            var host = new AgentHost(ns);
            try
            {
                host.WriteFile("/etc/docker/daemon.json", InitialConfig);
                var docker = await DockerDaemon.StartAsync(ns, host.PathOf("/etc/docker/daemon.json"));
                host.WriteFile("/etc/hawser/agent.yaml", docker.AgentConfig);
                return new DockerHost(ns, host, docker);
            }
            catch
            {
                host.Dispose();
                ns.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            Docker.Dispose();
            Host.Dispose();
            Namespace.Dispose();
        }
    }

    private static async Task WaitForAsync(DockerDaemon docker)
    {
        for (var i = 0; i < 100 && (await docker.TryDockerAsync("version")).ExitCode != 0; i++)
        {
            await Task.Delay(200);
        }
    }
}
