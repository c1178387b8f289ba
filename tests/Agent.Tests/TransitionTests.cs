using System.Net;
using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>
/// A table of spec states applied one after another in a random order, against a real namespace:
/// after every step the host holds exactly what that state says, and what no state sets is back to
/// the value it had before the agent first ran. The seed is in every failure message.
/// </summary>
[TestClass]
public sealed class TransitionTests
{
    private const string Keepalive = "net.ipv4.tcp_keepalive_time";
    private const string FinTimeout = "net.ipv4.tcp_fin_timeout";
    private const string ProxyNdp = "net.ipv6.conf.ens3.proxy_ndp";
    private const string Forwarding = "net.ipv6.conf.ens3.forwarding";
    private static readonly IPAddress X1 = IPAddress.Parse("fd68:6177::1:0:0:11");
    private static readonly IPAddress X2 = IPAddress.Parse("fd68:6177::1:0:0:12");

    private sealed record State(string Name, Dictionary<string, string> Sysctls, IPAddress[] Proxies);

    private static readonly State[] States =
    [
        new("A", new() { [Keepalive] = "601" }, []),
        new("B", new() { [Keepalive] = "602", [FinTimeout] = "31" }, []),
        new("C", new(), [X1]),
        new("D", new() { [FinTimeout] = "32" }, [X1, X2]),
        new("E", new(), []),
    ];

    [TestMethod]
    public async Task Any_order_of_spec_states_leaves_the_host_as_the_last_one_says()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        using var ns = await NetworkNamespace.CreateAsync("trans");
        await ns.ExecAsync("ip", "link", "add", "ens3", "type", "veth", "peer", "name", "ens3p");
        using var host = new AgentHost(ns);
        host.WriteFile("/etc/default/ufw", "DEFAULT_FORWARD_POLICY=\"ACCEPT\"\n");
        var original = new Dictionary<string, string>();
        foreach (var key in new[] { Keepalive, FinTimeout, ProxyNdp, Forwarding })
        {
            original[key] = await ns.ReadSysctlAsync(key);
        }
        var order = States.Concat(States).OrderBy(_ => random.Next()).Append(States[^1]).ToList();

        foreach (var (state, step) in order.Select((s, i) => (s, i)))
        {
            var where = $"seed {seed}, step {step} ({string.Join("", order.Take(step + 1).Select(s => s.Name))})";
            var apply = await host.ApplyAsync(host.WriteSpec(Yaml(state), $"{step}.yaml"), "h");
            Assert.AreEqual(0, apply.ExitCode, $"{where}: {apply.Output}");

            foreach (var key in original.Keys)
            {
                var expected = state.Sysctls.GetValueOrDefault(key)
                    ?? (state.Proxies.Length > 0 && key is ProxyNdp or Forwarding ? "1" : original[key]);
                Assert.AreEqual(expected, await ns.ReadSysctlAsync(key), $"{where}: {key}");
            }
            var proxies = (await ns.ExecAsync("ip", "-6", "neigh", "show", "proxy", "dev", "ens3")).StandardOutput
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => IPAddress.Parse(l.Split(' ')[0])).ToHashSet();
            Assert.IsTrue(proxies.SetEquals(state.Proxies), $"{where}: proxy entries {string.Join(", ", proxies)}");
        }
        Assert.IsFalse(File.Exists(host.PathOf("/etc/sysctl.d/60-hawser.conf")), "state E has no sysctls: the file the agent made is gone");
    }

    private static string Yaml(State state)
    {
        var text = "apiVersion: hawser/v1\nnodes:\n  h:\n    ufw: {forwardPolicy: ACCEPT}\n";
        if (state.Sysctls.Count > 0)
        {
            text += "    sysctls:\n" + string.Concat(state.Sysctls.Select(p => $"      {p.Key}: \"{p.Value}\"\n"));
        }
        if (state.Proxies.Length > 0)
        {
            text += $"    ndpProxy: {{interface: ens3, mode: kernel, addresses: [{string.Join(", ", state.Proxies.Select(p => $"\"{p}\""))}]}}\n";
        }
        return text;
    }
}
