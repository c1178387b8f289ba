using System.Text.Json;
using System.Text.RegularExpressions;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>The controller's log lines: a UTC time and a level on each, systemd priorities under journald, JSON lines on request.</summary>
[TestClass]
public sealed class LogFormatTests
{
    private const string Spec = "apiVersion: hawser/v1\nnodes:\n  web1: {sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}}\n";

    /// <summary>Applies a spec (an information line) and makes one refused call (a warning line); returns the log once both are in it.</summary>
    private static async Task<IReadOnlyList<string>> LogOfAnApplyAndARefusalAsync(ControllerProcess controller, string data)
    {
        var spec = Path.Combine(data, "spec.yaml");
        File.WriteAllText(spec, Spec);
        var apply = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "apply", "-f", spec, "-m", "first"]);
        Assert.AreEqual(0, apply.ExitCode, apply.Output);
        using (var anonymous = controller.Channel(admin: false))
        {
            var client = new Hawser.Shared.Protocol.V1.ControlService.ControlServiceClient(anonymous);
            await Assert.ThrowsExactlyAsync<Grpc.Core.RpcException>(async () => await client.ListNodesAsync(new Hawser.Shared.Protocol.V1.ListNodesRequest()));
        }
        Assert.IsTrue(await Poll.UntilAsync(() => controller.Log.Any(l => l.Contains("revision 1 applied by", StringComparison.Ordinal))
            && controller.Log.Any(l => l.Contains("refused /hawser.v1.ControlService/ListNodes", StringComparison.Ordinal)), TimeSpan.FromSeconds(30)),
            string.Join("\n", controller.Log));
        return controller.Log;
    }

    [TestMethod]
    public async Task Under_journald_each_line_starts_with_its_syslog_priority()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartWithAsync(new Dictionary<string, string> { ["JOURNAL_STREAM"] = "8:4242" }, data.Path);

        var log = await LogOfAnApplyAndARefusalAsync(controller, data.Path);

        StringAssert.Matches(log.First(l => l.Contains("revision 1 applied by", StringComparison.Ordinal)), new Regex(@"^<6>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "));
        StringAssert.StartsWith(log.First(l => l.Contains("refused /hawser.v1.ControlService/ListNodes", StringComparison.Ordinal)), "<4>", "a refusal is a warning");
    }

    [TestMethod]
    public async Task Text_lines_carry_the_time_and_the_level_and_json_lines_parse()
    {
        using (var data = new TempDirectory())
        await using (var controller = await ControllerProcess.StartAsync(data.Path))
        {
            var log = await LogOfAnApplyAndARefusalAsync(controller, data.Path);
            StringAssert.Matches(log.First(l => l.Contains("revision 1 applied by", StringComparison.Ordinal)), new Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: "));
            StringAssert.Matches(log.First(l => l.Contains("refused /hawser.v1.ControlService/ListNodes", StringComparison.Ordinal)), new Regex(@"^\S+Z warn: "));
        }

        using (var data = new TempDirectory())
        await using (var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--log-format", "json"))
        {
            var log = await LogOfAnApplyAndARefusalAsync(controller, data.Path);
            var lines = log.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            var applied = lines.Single(l => l.GetProperty("Message").GetString()!.Contains("revision 1 applied by", StringComparison.Ordinal));
            Assert.AreEqual("Information", applied.GetProperty("LogLevel").GetString());
            StringAssert.Matches(applied.GetProperty("Timestamp").GetString(), new Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"));
            Assert.AreEqual("Warning", lines.First(l => l.GetProperty("Message").GetString()!.Contains("refused", StringComparison.Ordinal)).GetProperty("LogLevel").GetString());
        }
    }
}
