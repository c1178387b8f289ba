using System.Diagnostics;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// The agent in node_exporter: agents told <c>textfileCollector:</c> in agent.yaml write hawser.prom there, and Debian's
/// node_exporter, started by the test on its textfile collector alone, serves their metrics on its own port.
/// </summary>
[TestClass]
public sealed partial class NodeExporterTests
{
    [System.Text.RegularExpressions.GeneratedRegex(@"hawser_agent_resources\{state=""in-sync""\} [1-9]")]
    private static partial System.Text.RegularExpressions.Regex InSync();

    private const string Directory = "/var/lib/prometheus/node-exporter";

    [TestMethod]
    public async Task Node_exporter_serves_each_agents_converge_result_resources_and_connection_from_its_textfile()
    {
        await using var fleet = await AgentFleet.StartAsync(["web3", "web4"], (node, host) =>
        {
            RolloutScenario.PrepareHost(node, host);
            host.WriteFile("/etc/hawser/agent.yaml", $"acmeChallenge: {{listen: none}}\ntextfileCollector: {Directory}\n");
        });

        // web4 lacks net.ipv4.tcp_fin_timeout (RolloutScenario): the revision fails there alone.
        var applied = await fleet.ApplyAsync("v2.yaml", RolloutScenario.V2);
        Assert.AreEqual(1, applied.ExitCode, applied.Output);

        using var web3 = NodeExporter(fleet.Hosts[0].PathOf(Directory), out var web3Url);
        using var web4 = NodeExporter(fleet.Hosts[1].PathOf(Directory), out var web4Url);
        using var http = new HttpClient();
        string good = "", bad = "";
        Assert.IsTrue(await Poll.UntilAsync(async () =>
        {
            good = await ScrapeAsync(http, web3Url);
            bad = await ScrapeAsync(http, web4Url);
            // The revision's converge changed what it had to; the next round, rewritten, finds it all in sync.
            return InSync().IsMatch(good) && bad.Contains("hawser_agent_revision 1\n", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60)), $"web3:\n{good}\nweb4:\n{bad}");

        StringAssert.Contains(good, "hawser_agent_last_converge_success 1\n");
        StringAssert.Contains(good, "hawser_agent_controller_connected 1\n");
        StringAssert.Contains(good, "hawser_agent_revision 1\n");
        StringAssert.Contains(good, "hawser_agent_drift_corrections_total 0\n", "the revision's own changes are not drift");
        StringAssert.Matches(good, new System.Text.RegularExpressions.Regex(@"hawser_agent_last_converge_timestamp_seconds \d\.\d+e\+09"));
        StringAssert.Contains(bad, "hawser_agent_last_converge_success 0\n");
        StringAssert.Matches(bad, new System.Text.RegularExpressions.Regex(@"hawser_agent_resources\{state=""failed""\} [1-9]"));
        // node_exporter read the file without complaint.
        StringAssert.Contains(good, "node_textfile_scrape_error 0\n");
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            File.GetUnixFileMode(Path.Combine(fleet.Hosts[0].PathOf(Directory), "hawser.prom")));

        // web3's agent stops: its file says it is no longer connected.
        await fleet.Agents[0].DisposeAsync();
        Assert.IsTrue(await Poll.UntilAsync(async () => (await ScrapeAsync(http, web3Url)).Contains("hawser_agent_controller_connected 0\n", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60)), await ScrapeAsync(http, web3Url));
    }

    /// <summary>Debian's node_exporter on a free loopback port with only its textfile collector, reading <paramref name="directory"/>.</summary>
    private static Stopped NodeExporter(string directory, out Uri metrics)
    {
        var port = AgentFleet.FreePort();
        metrics = new Uri($"http://127.0.0.1:{port}/metrics");
        return new Stopped(ExternalProcess.Start("prometheus-node-exporter", ["--collector.disable-defaults", "--collector.textfile",
            $"--collector.textfile.directory={directory}", $"--web.listen-address=127.0.0.1:{port}"]));
    }

    /// <summary>A process killed when disposed.</summary>
    private sealed class Stopped(Process process) : IDisposable
    {
        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
            process.Dispose();
        }
    }

    private static async Task<string> ScrapeAsync(HttpClient http, Uri metrics)
    {
        try
        {
            return await http.GetStringAsync(metrics);
        }
        catch (HttpRequestException ex)
        {
            return ex.Message;
        }
    }
}
