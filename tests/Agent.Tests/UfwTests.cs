using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>
/// Debian's ufw, active inside a network namespace, with /etc/default and /etc/ufw bind-mounted from
/// the test root in a private mount namespace: the agent edits the file, reloads ufw, and the FORWARD
/// chain policy is read back from iptables and ip6tables.
/// </summary>
[TestClass]
public sealed class UfwTests
{
    [TestMethod]
    public async Task Forward_policy_accept_is_written_reloaded_and_live_in_ip6tables()
    {
        using var ns = await NetworkNamespace.CreateAsync("ufw");
        using var host = new AgentHost(ns);
        Directory.CreateDirectory(host.PathOf("/etc/default"));
        await ExternalProcess.RunAsync("cp", ["-a", "/etc/ufw", host.PathOf("/etc/ufw")]);
        var defaults = File.ReadAllText("/etc/default/ufw").Replace("DEFAULT_FORWARD_POLICY=\"ACCEPT\"", "DEFAULT_FORWARD_POLICY=\"DROP\"", StringComparison.Ordinal);
        host.WriteFile("/etc/default/ufw", "# kept: an operator's comment\n" + defaults);
        var enable = await InMountNamespace(ns, host, "ufw --force enable");
        Assert.AreEqual(0, enable.ExitCode, enable.Output);
        Assert.AreEqual("-P FORWARD DROP", await FirstLine(ns, "ip6tables"));
        var spec = host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              bee2:
                ufw: {forwardPolicy: ACCEPT}
            """);

        var dry = await InMountNamespace(ns, host, $"dotnet {AgentHost.AgentDll} apply -f {spec} --node bee2 --root {host.Root} --dry-run");
        var apply = await InMountNamespace(ns, host, $"dotnet {AgentHost.AgentDll} apply -f {spec} --node bee2 --root {host.Root}");
        var again = await InMountNamespace(ns, host, $"dotnet {AgentHost.AgentDll} apply -f {spec} --node bee2 --root {host.Root}");

        Assert.AreEqual(2, dry.ExitCode, dry.Output);
        StringAssert.Contains(dry.StandardOutput, "ip6tables FORWARD policy: DROP -> ACCEPT");
        Assert.AreEqual(0, apply.ExitCode, apply.Output);
        Assert.AreEqual("-P FORWARD ACCEPT", await FirstLine(ns, "ip6tables"));
        Assert.AreEqual("-P FORWARD ACCEPT", await FirstLine(ns, "iptables"));
        var expected = "# kept: an operator's comment\n" + defaults.Replace("DEFAULT_FORWARD_POLICY=\"DROP\"", "DEFAULT_FORWARD_POLICY=\"ACCEPT\"", StringComparison.Ordinal);
        Assert.AreEqual(expected, host.ReadFile("/etc/default/ufw"), "only the policy line changes");
        Assert.AreEqual(0, again.ExitCode, again.Output);
        StringAssert.Contains(again.StandardOutput, "1 in sync, 0 changed");
    }

    private static Task<ProcessResult> InMountNamespace(NetworkNamespace ns, AgentHost host, string command) => host.RunWithOwnUfwAsync(ns, command);

    private static async Task<string> FirstLine(NetworkNamespace ns, string tool) =>
        (await ns.ExecAsync(tool, "-S", "FORWARD")).StandardOutput.Split('\n')[0].Trim();
}
