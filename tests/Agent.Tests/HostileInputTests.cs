using System.Text;
using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>
/// Bytes that are not text, control characters, deep nesting and endless files: each refused with the
/// file and line, in bounded memory, and nothing on the host is touched.
/// </summary>
[TestClass]
public sealed class HostileInputTests
{
    [TestMethod]
    [DataRow("fq\\0net.ipv4.ip_forward = 1", "U+0000")]
    [DataRow("fq\\u2028net.ipv4.ip_forward = 1", "U+2028")]
    [DataRow("fq\\x85x", "U+0085")]
    [DataRow("fq\\rnet.ipv4.ip_forward = 1", "U+000D")]
    public async Task A_control_character_in_a_value_is_refused_with_its_line(string escaped, string character)
    {
        using var host = new AgentHost();
        var spec = host.WriteSpec($"apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {{net.core.default_qdisc: \"{escaped}\"}}\n");

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{spec}:4:");
        StringAssert.Contains(result.StandardError, $"control character {character}");
        Assert.IsEmpty(host.Snapshot());
    }

    [TestMethod]
    public async Task A_spec_that_is_not_UTF8_is_refused_naming_the_line()
    {
        using var host = new AgentHost();
        var spec = host.WriteSpec("");
        File.WriteAllBytes(spec, [.. "apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.core.default_qdisc: \"fq"u8, 0xFF, 0xFE, .. "\"}\n"u8]);

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{spec}:4:42: byte 0xFF is not UTF-8 text");
        Assert.IsEmpty(host.Snapshot());
    }

    [TestMethod]
    public async Task An_agent_config_that_is_not_UTF8_is_refused_naming_the_line()
    {
        using var host = new AgentHost();
        var config = host.WriteFile("/etc/hawser/agent.yaml", "");
        File.WriteAllBytes(config, [.. "initSystem: none\nsysctlFile: /etc/sysctl.d/6"u8, 0xC3, 0x28, .. ".conf\n"u8]);
        var spec = host.WriteSpec("apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");
        var before = host.Snapshot();

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{config}:2:28: byte 0xC3 is not UTF-8 text");
        CollectionAssert.AreEquivalent(before.ToList(), host.Snapshot().ToList());
    }

    [TestMethod]
    [DataRow("[", "]")]
    [DataRow("{a: ", "}")]
    public async Task Fifty_thousand_nested_brackets_are_refused_without_a_crash(string open, string close)
    {
        using var host = new AgentHost();
        var deep = new StringBuilder("apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {a.b: ");
        deep.Insert(deep.Length, open, 50_000).Append('x').Insert(deep.Length, close, 50_000).Append("}\n");
        var spec = host.WriteSpec(deep.ToString());

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, "nests deeper than 64 levels");
        StringAssert.Contains(result.StandardError, $"{spec}:4:");
        Assert.IsEmpty(host.Snapshot());
    }

    [TestMethod]
    public async Task An_endless_spec_file_is_refused_at_the_limit()
    {
        using var host = new AgentHost();

        var result = await host.ApplyAsync("/dev/zero", "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, "/dev/zero:1:1: the file is larger than the 1024 KiB limit");
        Assert.IsEmpty(host.Snapshot());
    }

    [TestMethod]
    public async Task Deep_nesting_in_the_agent_config_is_refused_with_its_line()
    {
        using var host = new AgentHost();
        var config = host.WriteFile("/etc/hawser/agent.yaml", "allowedPaths: " + new string('[', 100_000) + new string(']', 100_000) + "\n");
        var spec = host.WriteSpec("apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{config}:1:");
        StringAssert.Contains(result.StandardError, "nests deeper than 64 levels");
    }
}
