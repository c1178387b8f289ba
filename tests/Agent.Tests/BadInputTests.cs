using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>Bad input is refused whole, with the file, line and reason, and the host is not touched.</summary>
[TestClass]
public sealed class BadInputTests
{
    [TestMethod]
    [DataRow("sysctls: {net.ipv4..tcp: \"1\"}", 4, "is not a dotted name")]
    [DataRow("sysctls: {net/ipv4/tcp_keepalive_time: \"1\"}", 4, "uses slashes")]
    [DataRow("sysctls: {net.ipv4.tcp_keepalive_time: \"1\\n2\"}", 4, "one-line")]
    [DataRow("ndpProxy: {interface: ens3, rules: [{prefix: \"2001:db8::zz/80\"}]}", 4, "is not a CIDR prefix")]
    [DataRow("docker: {daemon: {ipv6: true, fixedCidrV6: \"10.0.0.0/24\"}}", 4, "is IPv4; an IPv6 prefix is needed")]
    [DataRow("sysctls: {net.ipv4.tcp_keepalive_time: \"1\"}\n    colour: blue", 5, "unknown key 'colour'")]
    [DataRow("certificates: [{name: x, domains: [a.example.org], install: [{format: combined, path: /etc/shadow}]}]", 4, "outside the paths the agent may write")]
    [DataRow("certificates: [{name: x, domains: [a.example.org], install: [{format: haproxy, path: /etc/ndppd.conf}]}]", 4, "format haproxy also creates '/etc/ndppd.conf.key', which is outside the paths")]
    [DataRow("certificates: [{name: x, domains: [a.example.org], install: [{format: haproxy, path: /etc/default/ufw}]}]", 4, "format haproxy also creates '/etc/default/ufw.key', which is outside the paths")]
    [DataRow("certificates: [{name: x, domains: [a.example.org], install: [{format: pem-pair, cert: /etc/ndppd.conf, key: /etc/nginx/k.pem}]}]", 4, "format pem-pair also creates '/etc/.hawser-x-0/', which is outside the paths")]
    [DataRow("certificates: [{name: x, domains: [a.example.org], install: [{format: combined, path: /var/lib/hawser/state.json}]}]", 4, "inside the agent's own directories")]
    [DataRow("certificates: [{name: x, domains: [a.example.org], install: [{format: pem-pair, cert: /etc/nginx/x.pem, key: /etc/nginx/x.pem}]}]", 4, "key is the same file as its cert (/etc/nginx/x.pem)")]
    [DataRow("certificates: [{name: x, domains: [a.example.org], reload: {command: [/bin/sh, -c, \"id\"]}}]", 4, "command '/bin/sh' is not among the programs the agent may run (none are allowed)")]
    public async Task A_bad_spec_is_refused_with_its_line_and_nothing_is_written(string block, int line, string reason)
    {
        using var host = new AgentHost();
        var spec = host.WriteSpec($"""
            apiVersion: hawser/v1
            nodes:
              web1:
                {block}
            """);
        var before = host.Snapshot();

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{spec}:{line}:");
        StringAssert.Contains(result.StandardError, reason);
        StringAssert.Contains(result.StandardError, "Nothing was changed.");
        CollectionAssert.AreEquivalent(before.ToList(), host.Snapshot().ToList());
    }

    [TestMethod]
    public async Task Duplicate_node_names_are_refused()
    {
        using var host = new AgentHost();
        var spec = host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              web1:
                sysctls: {net.ipv4.tcp_keepalive_time: "600"}
              web1:
                sysctls: {net.ipv4.tcp_keepalive_time: "700"}
            """);

        var result = await host.ApplyAsync(spec, "web1", "-o", "json");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardOutput, "\"result\": \"invalid\"");
        StringAssert.Contains(result.StandardOutput, "Duplicate key");
        StringAssert.Contains(result.StandardOutput, "\"line\": 5");
        Assert.IsEmpty(host.Snapshot());
    }

    [TestMethod]
    public async Task A_yaml_alias_bomb_is_refused_before_it_expands()
    {
        using var host = new AgentHost();
        var levels = string.Join("\n", Enumerable.Range(1, 9).Select(i => $"l{i}: &l{i} [*l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}]"));
        var spec = host.WriteSpec($"apiVersion: hawser/v1\nl0: &l0 [x]\n{levels}\nnodes: {{web1: {{sysctls: {{a.b: *l9}}}}}}\n");

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{spec}:2:");
        StringAssert.Contains(result.StandardError, "anchors");
        Assert.IsEmpty(host.Snapshot());
    }

    [TestMethod]
    public async Task The_agent_config_can_narrow_where_a_spec_may_write()
    {
        using var host = new AgentHost();
        host.WriteFile("/etc/hawser/agent.yaml", "allowedPaths: [/etc/ssl/hawser/]\n");
        var spec = host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              web1:
                certificates:
                  - name: www
                    domains: [www.example.org]
                    install: [{format: pem-pair, cert: /etc/nginx/certs/www.crt, key: /etc/ssl/hawser/www.key}]
            """);
        var before = host.Snapshot();

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{spec}:7:");
        StringAssert.Contains(result.StandardError, "cert '/etc/nginx/certs/www.crt' is outside the paths the agent may write (/etc/ssl/hawser/)");
        Assert.DoesNotContain("www.key'", result.StandardError);
        CollectionAssert.AreEquivalent(before.ToList(), host.Snapshot().ToList());
    }

    [TestMethod]
    public async Task A_bad_agent_config_names_its_line_and_nothing_is_written()
    {
        using var host = new AgentHost();
        var config = host.WriteFile("/etc/hawser/agent.yaml", "sysctlFile: /etc/sysctl.d/60-hawser.conf\nallowedPath: [/etc/]\n");
        var spec = host.WriteSpec("apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");
        var before = host.Snapshot();

        var result = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{config}:2:1:");
        CollectionAssert.AreEquivalent(before.ToList(), host.Snapshot().ToList());
    }

    [TestMethod]
    [DataRow("missing", "/etc/hawser/agnet.yaml", "no such file (named with --config")]
    [DataRow("directory", "/etc/hawser/agent.yaml", "is a directory, not the agent's config file")]
    [DataRow("default-directory", null, "is a directory, not the agent's config file")]
    [DataRow("dangling-link", "/etc/hawser/agent.yaml", "which does not exist")]
    public async Task An_agent_config_that_cannot_be_read_fails_closed_and_nothing_is_written(string what, string? named, string reason)
    {
        using var host = new AgentHost();
        var path = host.PathOf(named ?? "/etc/hawser/agent.yaml");
        Directory.CreateDirectory(host.PathOf("/etc/hawser"));
        switch (what)
        {
            case "directory" or "default-directory":
                Directory.CreateDirectory(path);
                break;
            case "dangling-link":
                File.CreateSymbolicLink(path, host.PathOf("/etc/hawser/gone.yaml"));
                break;
        }
        // The defaults would allow /etc/sysctl.d/; an operator's agent.yaml that the agent cannot read must not widen anything.
        var spec = host.WriteSpec("apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");
        var before = host.Snapshot();

        var result = named is null ? await host.ApplyAsync(spec, "web1") : await host.ApplyAsync(spec, "web1", "--config", named);

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, path);
        StringAssert.Contains(result.StandardError, reason);
        Assert.DoesNotContain("   at ", result.Output);
        CollectionAssert.AreEquivalent(before.ToList(), host.Snapshot().ToList());
        Assert.IsFalse(File.Exists(host.PathOf("/etc/sysctl.d/60-hawser.conf")));
    }

    [TestMethod]
    [DataRow("--join-token", "", "--join-token must be ID.SECRET")]
    [DataRow("--join-token", "nodot", "--join-token must be ID.SECRET")]
    [DataRow("--ca-hash", "sha256:xyz", "--ca-hash 'sha256:xyz' must be sha256: and 64 hex digits")]
    [DataRow("--ca-hash", "md5:0123", "--ca-hash 'md5:0123' must be sha256: and 64 hex digits")]
    public async Task Run_refuses_a_join_token_or_ca_pin_that_cannot_be_right_at_once(string option, string value, string reason)
    {
        using var host = new AgentHost();
        Directory.CreateDirectory(host.Root);

        // Port 1 on loopback answers nobody: a run that tried the controller would retry until its timeout.
        var result = await host.RunAgentAsync(["run", "--controller", "https://127.0.0.1:1", "--node", "web1", "--root", host.Root, option, value]);

        Assert.AreEqual(64, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, reason);
        Assert.DoesNotContain("127.0.0.1:1", result.StandardError.Replace("https://127.0.0.1:1", "", StringComparison.Ordinal), "refused before any connection");
    }

    [TestMethod]
    public async Task An_unknown_node_and_a_bad_command_line_exit_differently_from_pending_changes()
    {
        using var host = new AgentHost();
        var spec = host.WriteSpec("apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n");

        var unknown = await host.ApplyAsync(spec, "web9");
        var usage = await host.RunAgentAsync(["apply", "-f", spec]);

        Assert.AreEqual(1, unknown.ExitCode, unknown.Output);
        StringAssert.Contains(unknown.StandardError, "the spec has no node 'web9'; it has: web1");
        Assert.AreEqual(64, usage.ExitCode, usage.Output);
        StringAssert.Contains(usage.StandardError, "--node");
    }
}
