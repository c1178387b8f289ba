using System.Text.Json;
using Hawser.Controller.Store;
using Hawser.TestSupport;

namespace Hawser.Ctl.Tests;

/// <summary><c>hawserctl nodes</c>, run as a real process against a real controller.</summary>
[TestClass]
public sealed class NodesCommandTests
{
    private static Task<ProcessResult> Ctl(params string[] arguments) => HawserProcesses.RunAsync("hawserctl", arguments);

    [TestMethod]
    public async Task Empty_fleet_says_so_and_exits_0()
    {
        using var temp = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(temp.Path);

        var table = await Ctl("--config", controller.CtlConfig, "nodes");
        var json = await Ctl("nodes", "-o", "json", "--config", controller.CtlConfig);

        Assert.AreEqual(0, table.ExitCode, table.Output);
        StringAssert.Contains(table.StandardOutput, "No nodes have enrolled yet.");
        Assert.AreEqual(0, json.ExitCode, json.Output);
        Assert.AreEqual(0, JsonDocument.Parse(json.StandardOutput).RootElement.GetProperty("nodes").GetArrayLength());
    }

    [TestMethod]
    public async Task Known_nodes_appear_in_the_table_and_in_json()
    {
        using var temp = new TempDirectory();
        await SeedNodesAsync(temp.Path);
        await using var controller = await ControllerProcess.StartAsync(temp.Path);

        var table = await Ctl("--config", controller.CtlConfig, "nodes");
        var json = await Ctl("--config", controller.CtlConfig, "nodes", "-o", "json");

        Assert.AreEqual(0, table.ExitCode, table.Output);
        var lines = table.StandardOutput.Split('\n');
        var web1 = lines.Single(l => l.Contains("web1", StringComparison.Ordinal));
        // The same STATE word as status (offline), and whether its stream is up (issue 29, item 15).
        StringAssert.Matches(web1, new System.Text.RegularExpressions.Regex(@"^\s*web1\s+offline\s.*\sno$"));
        StringAssert.Contains(web1, "role=web,zone=a");
        StringAssert.Contains(web1, "2/3");
        Assert.IsTrue(lines.Any(l => l.Contains("db1", StringComparison.Ordinal)), table.Output);

        var nodes = JsonDocument.Parse(json.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray().ToArray();
        CollectionAssert.AreEqual(new[] { "db1", "web1" }, nodes.Select(n => n.GetProperty("name").GetString()).ToArray());
        var first = nodes[1];
        Assert.IsFalse(first.GetProperty("connected").GetBoolean());
        Assert.AreEqual("web", first.GetProperty("labels").GetProperty("role").GetString());
        Assert.AreEqual(3UL, first.GetProperty("desiredRevision").GetUInt64());
        Assert.AreEqual(2UL, first.GetProperty("appliedRevision").GetUInt64());
        Assert.AreEqual("0.1.0", first.GetProperty("agentVersion").GetString());
        Assert.AreEqual(new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.Zero), first.GetProperty("lastSeen").GetDateTimeOffset());
    }

    [TestMethod]
    public async Task Selector_filters_by_label()
    {
        using var temp = new TempDirectory();
        await SeedNodesAsync(temp.Path);
        await using var controller = await ControllerProcess.StartAsync(temp.Path);

        var json = await Ctl("--config", controller.CtlConfig, "nodes", "-l", "role=web", "-o", "json");

        Assert.AreEqual(0, json.ExitCode, json.Output);
        var names = JsonDocument.Parse(json.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray()
            .Select(n => n.GetProperty("name").GetString()).ToArray();
        CollectionAssert.AreEqual(new[] { "web1" }, names);
    }

    [TestMethod]
    public async Task Controller_and_config_from_the_environment_are_used()
    {
        using var temp = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(temp.Path);

        var result = await HawserProcesses.RunAsync("hawserctl", ["nodes"],
            new Dictionary<string, string> { ["HAWSER_CONTROLLER"] = controller.Address.ToString(), ["HAWSER_CONFIG"] = controller.CtlConfig });

        Assert.AreEqual(0, result.ExitCode, result.Output);
    }

    [TestMethod]
    public async Task Unreachable_controller_exits_3_naming_the_address()
    {
        var result = await Ctl("--controller", "http://127.0.0.1:1", "nodes");
        var json = await Ctl("--controller", "http://127.0.0.1:1", "nodes", "-o", "json");

        Assert.AreEqual(3, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, "cannot reach the controller at http://127.0.0.1:1/");
        Assert.AreEqual(3, json.ExitCode, json.Output);
        Assert.AreEqual("Unavailable", JsonDocument.Parse(json.StandardError).RootElement.GetProperty("code").GetString());
        Assert.AreEqual(string.Empty, json.StandardOutput, "stdout stays clean for scripts");
    }

    [TestMethod]
    [DataRow("nodes", "-o", "yaml")]
    [DataRow("--controller", "ftp://x", "nodes")]
    [DataRow("nodes", "--selector", "role")]
    [DataRow("nodez")]
    public async Task Bad_command_line_exits_64_with_an_error(params string[] arguments)
    {
        var result = await Ctl(arguments);

        Assert.AreEqual(64, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, "error:");
    }

    private static async Task SeedNodesAsync(string dataDirectory)
    {
        using var store = ControllerStore.Open(dataDirectory);
        var seen = new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
        await store.Nodes.UpsertAsync(new NodeRecord
        {
            Name = "web1", Labels = new Dictionary<string, string> { ["role"] = "web", ["zone"] = "a" }, AgentVersion = "0.1.0",
            FirstSeen = seen.AddDays(-1), LastSeen = seen, DesiredRevision = 3, AppliedRevision = 2,
        });
        await store.Nodes.UpsertAsync(new NodeRecord
        {
            Name = "db1", Labels = new Dictionary<string, string> { ["role"] = "db" }, AgentVersion = "0.1.0",
            FirstSeen = seen.AddDays(-1), LastSeen = seen, DesiredRevision = 3, AppliedRevision = 3,
        });
    }
}
