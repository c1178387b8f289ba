using System.Text.Json;
using System.Text.RegularExpressions;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>The agent's log lines in a fleet: a UTC time and a level on each, systemd priorities under journald, JSON on request.</summary>
[TestClass]
public sealed class AgentLogTests
{
    private static async Task<(ControllerProcess Controller, string Token)> ControllerAsync(TempDirectory data)
    {
        var controller = await ControllerProcess.StartAsync(data.Path);
        var token = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "token", "create", "--uses", "3", "-o", "json"]);
        return (controller, JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!);
    }

    [TestMethod]
    public async Task Text_by_default_systemd_priorities_under_journald_and_json_lines_on_request()
    {
        using var data = new TempDirectory();
        var (controller, token) = await ControllerAsync(data);
        await using var _ = controller;
        using var plainHost = new AgentHost();
        using var journaldHost = new AgentHost();
        using var jsonHost = new AgentHost();
        string[] Join() => ["--join-token", token, "--ca-hash", controller.CaHash];

        await using var plain = AgentProcess.Start(plainHost, "web1", controller.Address, Join());
        await using var journald = AgentProcess.StartWith(new Dictionary<string, string> { ["JOURNAL_STREAM"] = "8:4242" }, journaldHost, "web2", controller.Address, Join());
        await using var json = AgentProcess.Start(jsonHost, "web3", controller.Address, [.. Join(), "--log-format", "json"]);
        await plain.WaitForAsync("connected to");
        await journald.WaitForAsync("connected to");
        await json.WaitForAsync("connected to");

        var line = plain.Output.Split('\n').First(l => l.Contains("connected to", StringComparison.Ordinal));
        StringAssert.Matches(line, new Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: hawser-agent\[12\] connected to https://"));
        StringAssert.Matches(journald.Output.Split('\n').First(l => l.Contains("connected to", StringComparison.Ordinal)), new Regex(@"^<6>\S+Z hawser-agent\[12\] connected to "));
        var entry = JsonDocument.Parse(json.Output.Split('\n').First(l => l.Contains("connected to", StringComparison.Ordinal))).RootElement;
        Assert.AreEqual("Information", entry.GetProperty("LogLevel").GetString());
        Assert.AreEqual("hawser-agent", entry.GetProperty("Category").GetString());
        StringAssert.StartsWith(entry.GetProperty("Message").GetString(), "connected to https://");
    }
}
