using System.Net;
using System.Net.Http.Headers;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>Debian's Prometheus scrapes the controller of a small real fleet; its query API sees the fleet as hawserctl does.</summary>
[TestClass]
public sealed class MetricsTests
{
    // web4 lacks net.ipv4.tcp_fin_timeout (RolloutScenario): revision V2 fails there alone.
    private static readonly string[] Nodes = ["web1", "web2", "web4"];

    [TestMethod]
    public async Task Prometheus_sees_three_nodes_in_sync_then_one_failed_after_a_bad_spec_and_a_scrape_without_credentials_is_refused()
    {
        await using var fleet = await AgentFleet.StartAsync(Nodes, RolloutScenario.PrepareHost);
        var data = fleet.Controller.DataDirectory;
        var tokenFile = Path.Combine(data, "metrics-token");
        await using var prometheus = await PrometheusServer.StartAsync(fleet.Controller.Address.Authority, Path.Combine(data, "pki", "ca.crt"), tokenFile);
        Assert.AreEqual(0, (await fleet.ApplyAsync("v1.yaml", RolloutScenario.V1)).ExitCode);

        Assert.IsTrue(await Poll.UntilAsync(async () => await prometheus.ValueAsync("sum(hawser_nodes{state=\"in-sync\"})") == 3, TimeSpan.FromSeconds(90)),
            "three nodes in sync: " + await prometheus.TargetHealthAsync());
        Assert.AreEqual(3, await prometheus.ValueAsync("sum(hawser_agents_connected)"));
        Assert.HasCount(3, await prometheus.QueryAsync("hawser_node_last_report_age_seconds"), "one series per node");

        Assert.AreEqual(1, (await fleet.ApplyAsync("v2.yaml", RolloutScenario.V2)).ExitCode, "web4 fails revision 2");

        Assert.IsTrue(await Poll.UntilAsync(async () => await prometheus.ValueAsync("sum(hawser_nodes{state=\"failed\"})") == 1
            && await prometheus.ValueAsync("sum(hawser_nodes{state=\"in-sync\"})") == 2, TimeSpan.FromSeconds(90)), "web4 failed: " + await prometheus.TargetHealthAsync());
        Assert.IsTrue(await Poll.UntilAsync(async () => await prometheus.ValueAsync(
            "sum(hawser_rpc_duration_seconds_count{method=\"/hawser.v1.ControlService/ApplySpec\",code=\"OK\"})") == 2, TimeSpan.FromSeconds(30)),
            "both applies counted by method and code");
        Assert.AreEqual(1, await prometheus.ValueAsync("sum(hawser_events_total{kind=\"node.failed\"})"));

        using var client = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        var metrics = new Uri(fleet.Controller.Address, "/metrics");
        using (var anonymous = await client.GetAsync(metrics))
        {
            Assert.AreEqual(HttpStatusCode.Unauthorized, anonymous.StatusCode, "a scrape without the certificate or token");
        }
        using var request = new HttpRequestMessage(HttpMethod.Get, metrics);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token");
        using (var wrong = await client.SendAsync(request))
        {
            Assert.AreEqual(HttpStatusCode.Unauthorized, wrong.StatusCode, "a scrape with a wrong token");
        }
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile), "the token file is 0600");
    }
}
