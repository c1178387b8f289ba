using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>
/// Two namespaces joined by a veth: "router" resolves an address in a prefix that lives behind
/// "host", where the agent runs (ndppd mode: Debian's ndppd with the agent's config; kernel mode:
/// proxy neighbour entries), and its own kernel's neighbour table must learn host's link address.
/// ndisc6 is not used: it discards proxy advertisements (Override flag clear), which kernels accept.
/// Addresses are from the test range fd68:6177::/64.
/// </summary>
[TestClass]
public sealed class NdpProxyTests
{
    private const string Proxied = "fd68:6177::1:0:0:5";

    [TestMethod]
    public async Task Ndppd_mode_answers_solicitations_for_the_proxied_prefix()
    {
        using var router = await NetworkNamespace.CreateAsync("rtr");
        using var ns = await NetworkNamespace.CreateAsync("ndppd");
        await NetworkNamespace.LinkAsync(router, "r0", "fd68:6177::1/64", ns, "ens3", "fd68:6177::2/64");
        using var host = new AgentHost(ns);
        var pid = host.PathOf("/run/ndppd.pid");
        Directory.CreateDirectory(Path.GetDirectoryName(pid)!);
        host.WriteFile("/etc/hawser/agent.yaml", $$"""
            initSystem: none
            services:
              ndppd:
                restart: [sh, -c, "if [ -f {{pid}} ]; then kill $(cat {{pid}}); sleep 0.3; fi; exec ndppd -d -c {{host.PathOf("/etc/ndppd.conf")}} -p {{pid}}"]
                stop: [sh, -c, "kill $(cat {{pid}})"]
                isActive: [sh, -c, "test -f {{pid}} && kill -0 $(cat {{pid}})"]
            """);
        var spec = host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              bee2:
                ndpProxy:
                  interface: ens3
                  mode: ndppd
                  rules:
                    - {prefix: "fd68:6177:0:0:1::/80", method: static}
            """);
        Assert.IsNull(await ResolveAsync(router), "nothing answers before the agent runs");

        var apply = await host.ApplyAsync(spec, "bee2");

        Assert.AreEqual(0, apply.ExitCode, apply.Output);
        Assert.AreEqual("1", await ns.ReadSysctlAsync("net.ipv6.conf.ens3.proxy_ndp"));
        var config = host.ReadFile("/etc/ndppd.conf");
        StringAssert.Contains(config, "proxy ens3 {");
        StringAssert.Contains(config, "rule fd68:6177:0:0:1::/80 {\n        static\n    }");
        Assert.AreEqual(await MacAsync(ns), await ResolveAsync(router));

        var again = await host.ApplyAsync(spec, "bee2");
        Assert.AreEqual(0, again.ExitCode, again.Output);
        StringAssert.Contains(again.StandardOutput, "0 changed");
    }

    [TestMethod]
    public async Task Kernel_mode_keeps_proxy_entries_and_removes_them_with_the_block()
    {
        using var router = await NetworkNamespace.CreateAsync("rtr");
        using var ns = await NetworkNamespace.CreateAsync("kndp");
        await NetworkNamespace.LinkAsync(router, "r0", "fd68:6177::1/64", ns, "ens3", "fd68:6177::2/64");
        using var host = new AgentHost(ns);
        // An entry someone else added must survive everything the agent does.
        await ns.ExecAsync("ip", "-6", "neigh", "add", "proxy", "fd68:6177::99", "dev", "ens3");
        var spec = host.WriteSpec($$"""
            apiVersion: hawser/v1
            nodes:
              bee2-lb:
                ndpProxy: {interface: ens3, mode: kernel, addresses: ["{{Proxied}}"]}
            """);

        var apply = await host.ApplyAsync(spec, "bee2-lb");

        Assert.AreEqual(0, apply.ExitCode, apply.Output);
        var entries = (await ns.ExecAsync("ip", "-6", "neigh", "show", "proxy")).StandardOutput;
        StringAssert.Contains(entries, $"{Proxied} dev ens3 proxy");
        Assert.AreEqual(await MacAsync(ns), await ResolveAsync(router));
        Assert.AreEqual("1", await ns.ReadSysctlAsync("net.ipv6.conf.ens3.forwarding"), "the kernel proxies only on a forwarding interface");

        // As after a reboot: the entry is gone, the next converge puts it back.
        await ns.ExecAsync("ip", "-6", "neigh", "del", "proxy", Proxied, "dev", "ens3");
        var reboot = await host.ApplyAsync(spec, "bee2-lb");
        Assert.AreEqual(0, reboot.ExitCode, reboot.Output);
        StringAssert.Contains(reboot.StandardOutput, $"proxy {Proxied} dev ens3: (absent) -> present");

        var without = host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              bee2-lb:
                sysctls: {net.ipv6.conf.ens3.proxy_ndp: "1"}
            """, "without.yaml");
        var removed = await host.ApplyAsync(without, "bee2-lb");
        Assert.AreEqual(0, removed.ExitCode, removed.Output);
        entries = (await ns.ExecAsync("ip", "-6", "neigh", "show", "proxy")).StandardOutput;
        Assert.DoesNotContain(Proxied, entries);
        StringAssert.Contains(entries, "fd68:6177::99 dev ens3 proxy");
        Assert.IsNull(await ResolveAsync(router), "nothing answers once the entry is gone");
    }

    /// <summary>Sends one datagram to the proxied address from the router and returns the link address its kernel learnt, or null.</summary>
    private static async Task<string?> ResolveAsync(NetworkNamespace router)
    {
        await router.ExecAsync("ip", "-6", "neigh", "flush", "dev", "r0");
        await router.ExecAsync("/usr/bin/python3", "-c",
            $"import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b'x', ('{Proxied}', 9))");
        for (var i = 0; i < 30; i++)
        {
            var line = (await router.ExecAsync("ip", "-6", "neigh", "show", Proxied, "dev", "r0")).StandardOutput.Trim();
            var fields = line.Split(' ');
            var at = Array.IndexOf(fields, "lladdr");
            if (at >= 0)
            {
                return fields[at + 1];
            }
            if (line.Contains("FAILED", StringComparison.Ordinal))
            {
                return null;
            }
            await Task.Delay(100);
        }
        return null;
    }

    private static async Task<string> MacAsync(NetworkNamespace ns) =>
        (await ns.ExecAsync("ip", "-br", "link", "show", "ens3")).StandardOutput.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];
}
