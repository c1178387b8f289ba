using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary><c>hawser-agent install --root</c> lays down exactly the service files; <c>uninstall</c> takes them all away again.</summary>
[TestClass]
public sealed class InstallTests
{
    [TestMethod]
    [DataRow("systemd", "/etc/systemd/system/hawser-agent.service", "packaging/systemd/hawser-agent.service", "/etc/default/hawser-agent",
        "HAWSER_CONTROLLER=\"https://ctl.example.org:7443/\"\nHAWSER_NODE=\"web1\"\nHAWSER_AGENT_ARGS=\"--join-token abc123.secretsecret --ca-hash sha256:00ff\"\n",
        "would run: systemctl daemon-reload|would run: systemctl enable --now hawser-agent", "would run: systemctl disable --now hawser-agent")]
    [DataRow("openrc", "/etc/init.d/hawser-agent", "packaging/openrc/hawser-agent", "/etc/conf.d/hawser-agent",
        "HAWSER_CONTROLLER=\"https://ctl.example.org:7443/\"\nHAWSER_NODE=\"web1\"\nHAWSER_AGENT_ARGS=\"--join-token abc123.secretsecret --ca-hash sha256:00ff\"\n",
        "would run: rc-update add hawser-agent default|would run: rc-service hawser-agent start", "would run: rc-service hawser-agent stop")]
    public async Task Install_lays_down_the_service_and_uninstall_leaves_the_root_as_it_was(
        string init, string serviceFile, string packaged, string settingsFile, string settings, string installCalls, string uninstallCall)
    {
        using var host = new AgentHost();
        var binary = host.WriteSpec("#!/bin/sh\necho a stand-in agent binary\n", "hawser-agent-binary");

        var install = await host.RunAgentAsync(["install", "--root", host.Root, "--init", init, "--controller", "https://ctl.example.org:7443",
            "--node", "web1", "--join-token", "abc123.secretsecret", "--ca-hash", "sha256:00ff", "--binary", binary]);

        Assert.AreEqual(0, install.ExitCode, install.Output);
        foreach (var call in installCalls.Split('|'))
        {
            StringAssert.Contains(install.StandardOutput, call);
        }
        Assert.AreEqual(File.ReadAllText(binary), host.ReadFile("/usr/local/bin/hawser-agent"));
        Assert.AreEqual((UnixFileMode)Convert.ToInt32("755", 8), File.GetUnixFileMode(host.PathOf("/usr/local/bin/hawser-agent")));
        Assert.AreEqual(File.ReadAllText(Path.Combine(RepoPaths.Root, packaged)), host.ReadFile(serviceFile));
        Assert.AreEqual(settings, host.ReadFile(settingsFile));
        Assert.AreEqual((UnixFileMode)Convert.ToInt32("600", 8), File.GetUnixFileMode(host.PathOf(settingsFile)), "it holds the join token");
        Assert.IsTrue(File.Exists(host.PathOf("/etc/hawser/agent.yaml")));

        var uninstall = await host.RunAgentAsync(["uninstall", "--root", host.Root]);

        Assert.AreEqual(0, uninstall.ExitCode, uninstall.Output);
        StringAssert.Contains(uninstall.StandardOutput, uninstallCall);
        Assert.IsEmpty(host.Snapshot(), "uninstall removes every file and directory install created");
    }

    [TestMethod]
    public async Task Uninstall_of_nothing_installed_says_so()
    {
        using var host = new AgentHost();

        var result = await host.RunAgentAsync(["uninstall", "--root", host.Root]);

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, "/var/lib/hawser/install.json is missing");
    }
}
