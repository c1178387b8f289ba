using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>The sysctl resources against a real network namespace's /proc/sys, with host files under a temp root.</summary>
[TestClass]
public sealed class SysctlTests
{
    private const string Spec = """
        apiVersion: hawser/v1
        nodes:
          web1:
            labels: {role: web}
        profiles:
          web:
            selector: {role: web}
            sysctls:
              net.ipv4.tcp_congestion_control: bbr
              net.ipv4.tcp_keepalive_time: "600"
              net.ipv6.conf.*.proxy_ndp: "1"
        """;

    [TestMethod]
    public async Task Apply_sets_live_values_and_the_boot_file_then_a_second_apply_writes_nothing()
    {
        using var ns = await NetworkNamespace.CreateAsync("sysctl");
        using var host = new AgentHost(ns);
        var spec = host.WriteSpec(Spec);

        var first = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(0, first.ExitCode, first.Output);
        Assert.AreEqual("bbr", await ns.ReadSysctlAsync("net.ipv4.tcp_congestion_control"));
        Assert.AreEqual("600", await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"));
        Assert.AreEqual("1", await ns.ReadSysctlAsync("net.ipv6.conf.lo.proxy_ndp"));
        Assert.AreEqual("1", await ns.ReadSysctlAsync("net.ipv6.conf.all.proxy_ndp"));
        var file = host.ReadFile("/etc/sysctl.d/60-hawser.conf");
        StringAssert.Contains(file, "net.ipv4.tcp_keepalive_time = 600\n");
        // Globs are written out per interface: non-systemd hosts do not expand them.
        StringAssert.Contains(file, "net.ipv6.conf.lo.proxy_ndp = 1\n");
        Assert.DoesNotContain("*", file);

        var before = host.Snapshot();
        await Task.Delay(20);
        var second = await host.ApplyAsync(spec, "web1", "-o", "json");

        Assert.AreEqual(0, second.ExitCode, second.Output);
        StringAssert.Contains(second.StandardOutput, "\"result\": \"in-sync\"");
        Assert.DoesNotContain("\"changed\"", second.StandardOutput.Replace("\"changed\": 0", "", StringComparison.Ordinal));
        CollectionAssert.AreEquivalent(before.ToList(), host.Snapshot().ToList(), "a second apply must not write any file");
    }

    [TestMethod]
    public async Task A_key_missing_in_the_namespace_fails_alone_and_the_others_still_apply()
    {
        using var ns = await NetworkNamespace.CreateAsync("qdisc");
        using var host = new AgentHost(ns);
        var spec = host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              web1:
                sysctls:
                  net.core.default_qdisc: fq
                  net.ipv4.tcp_keepalive_time: "900"
            """);

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardOutput, "net.core.default_qdisc does not exist here");
        StringAssert.Contains(result.StandardOutput, "not visible inside a network namespace");
        Assert.AreEqual("900", await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"));
        // Only what the kernel took is written for boot, and the plan says what was left out.
        var file = host.ReadFile("/etc/sysctl.d/60-hawser.conf");
        StringAssert.Contains(file, "net.ipv4.tcp_keepalive_time = 900\n");
        Assert.DoesNotContain("default_qdisc", file);
        StringAssert.Contains(result.StandardOutput, "net.core.default_qdisc is left out of /etc/sysctl.d/60-hawser.conf");
        var again = await host.ApplyAsync(spec, "web1", "-o", "json");
        Assert.AreEqual(1, again.ExitCode, "the missing key still fails, and the file is not rewritten to hold it\n" + again.Output);
        Assert.AreEqual(file, host.ReadFile("/etc/sysctl.d/60-hawser.conf"));
    }

    [TestMethod]
    public async Task A_bad_new_value_fails_and_the_boot_file_keeps_the_last_good_one()
    {
        using var ns = await NetworkNamespace.CreateAsync("keepboot");
        using var host = new AgentHost(ns);
        string Spec(string keepalive) => $$"""
            apiVersion: hawser/v1
            nodes:
              web1:
                sysctls:
                  net.ipv4.tcp_keepalive_time: "{{keepalive}}"
                  net.ipv4.tcp_fin_timeout: "30"
            """;
        Assert.AreEqual(0, (await host.ApplyAsync(host.WriteSpec(Spec("300")), "web1")).ExitCode);

        var bad = await host.ApplyAsync(host.WriteSpec(Spec("five minutes")), "web1");

        // Issue 29, item 5: the value fails, and a reboot still gets the 300 that worked.
        Assert.AreEqual(1, bad.ExitCode, bad.Output);
        StringAssert.Contains(bad.StandardOutput, "net.ipv4.tcp_keepalive_time keeps 300 in /etc/sysctl.d/60-hawser.conf (the last value set)");
        var file = host.ReadFile("/etc/sysctl.d/60-hawser.conf");
        StringAssert.Contains(file, "net.ipv4.tcp_keepalive_time = 300\n");
        StringAssert.Contains(file, "net.ipv4.tcp_fin_timeout = 30\n");
        Assert.AreEqual("300", await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"));
    }

    [TestMethod]
    public async Task A_dry_run_refuses_values_the_kernel_cannot_take()
    {
        using var ns = await NetworkNamespace.CreateAsync("types");
        using var host = new AgentHost(ns);
        // The modules this kernel has, as /lib/modules lists them (the test machine's kernel has none on disk).
        var release = (await File.ReadAllTextAsync("/proc/sys/kernel/osrelease")).Trim();
        host.WriteFile($"/lib/modules/{release}/modules.dep", "kernel/net/ipv4/tcp_htcp.ko.xz:\nkernel/net/ipv4/tcp_vegas.ko.xz:\n");
        var spec = host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              web1:
                sysctls:
                  net.ipv4.tcp_keepalive_time: "ten minutes"
                  net.ipv4.tcp_congestion_control: bbbr
                  net.ipv4.tcp_fin_timeout: "30"
            """);

        var result = await host.ApplyAsync(spec, "web1", "--dry-run");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardOutput, "net.ipv4.tcp_keepalive_time takes a whole number; the kernel holds '7200', the spec says 'ten minutes'");
        StringAssert.Contains(result.StandardOutput, "bbbr is not a congestion control this kernel has");
        StringAssert.Contains(result.StandardOutput, "no module tcp_bbbr is listed under /lib/modules");
        StringAssert.Contains(result.StandardOutput, "/proc/sys/net/ipv4/tcp_fin_timeout: 60 -> 30", "the sound key is still planned");
        Assert.DoesNotContain("not loaded -> loaded", result.StandardOutput);
    }

    [TestMethod]
    public async Task Removing_the_block_restores_the_values_and_removes_the_file()
    {
        using var ns = await NetworkNamespace.CreateAsync("undo");
        using var host = new AgentHost(ns);
        var original = await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time");
        var with = host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              web1:
                sysctls: {net.ipv4.tcp_keepalive_time: "601"}
            """);
        var first = await host.ApplyAsync(with, "web1");
        Assert.AreEqual(0, first.ExitCode, first.Output);
        Assert.AreEqual("601", await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"));

        var without = host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              web1:
                ufw: {forwardPolicy: ACCEPT}
            """, "without.yaml");
        host.WriteFile("/etc/default/ufw", "IPV6=yes\nDEFAULT_FORWARD_POLICY=\"DROP\"\n");
        var second = await host.ApplyAsync(without, "web1");

        Assert.AreEqual(0, second.ExitCode, second.Output);
        Assert.AreEqual(original, await ns.ReadSysctlAsync("net.ipv4.tcp_keepalive_time"));
        Assert.IsFalse(File.Exists(host.PathOf("/etc/sysctl.d/60-hawser.conf")), "the agent created the file, so undo removes it");
        Assert.DoesNotContain("tcp_keepalive_time", host.ReadFile("/var/lib/hawser/state.json"));
    }

    [TestMethod]
    public async Task Files_that_override_a_managed_key_later_are_warned_about()
    {
        using var ns = await NetworkNamespace.CreateAsync("warn");
        using var host = new AgentHost(ns);
        host.WriteFile("/etc/sysctl.d/99-local.conf", "net/ipv4/tcp_keepalive_time = 300\n");
        host.WriteFile("/usr/lib/sysctl.d/10-early.conf", "net.ipv4.tcp_keepalive_time = 100\n");
        host.WriteFile("/etc/ufw/sysctl.conf", "# ufw\nnet.ipv4.tcp_keepalive_time=200\n");
        var spec = host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              web1:
                sysctls: {net.ipv4.tcp_keepalive_time: "600", net.ipv6.conf.wg*.accept_ra: "2"}
            """);

        var result = await host.ApplyAsync(spec, "web1", "--dry-run");

        Assert.AreEqual(2, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardOutput, "/etc/sysctl.d/99-local.conf sets net.ipv4.tcp_keepalive_time = 300 at boot, after ours");
        StringAssert.Contains(result.StandardOutput, "/etc/ufw/sysctl.conf sets net.ipv4.tcp_keepalive_time = 200 on every ufw start and reload");
        Assert.DoesNotContain("10-early.conf", result.StandardOutput);
        StringAssert.Contains(result.StandardOutput, "net.ipv6.conf.wg*.accept_ra matches no key here yet");
        Assert.IsFalse(File.Exists(host.PathOf("/etc/sysctl.d/60-hawser.conf")), "a dry run writes nothing");
    }
}
