using System.Text.Json;
using System.Text.RegularExpressions;
using Hawser.TestSupport;
using YamlDotNet.RepresentationModel;

namespace Hawser.Fleet.Tests;

/// <summary>
/// The shipped Grafana dashboard and alert rules against Debian's Prometheus scraping a real controller whose fleet has
/// a certificate from Pebble installed and served by nginx, and a rollout: every panel's query and every rule's
/// expression evaluates, and every metric it names is one the controller exports.
/// </summary>
[TestClass]
public sealed partial class DashboardTests
{
    private const string Domain = "www.dashboard.test";

    [GeneratedRegex(@"\bhawser_[a-z_]+\b")]
    private static partial Regex MetricName();

    [TestMethod]
    public async Task Every_dashboard_query_and_alert_expression_evaluates_against_a_real_controllers_metrics()
    {
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.SetAddressesAsync(Domain, ["127.0.4.101"]);
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer]);
        await using var fleet = await ServedFleet.StartAsync(controller, Domain, data.Path, new ServedNode("web1", TlsServerKind.Nginx, "10.68.0.185/30", "10.68.0.186", "127.0.4.101"));
        await using var prometheus = await PrometheusServer.StartAsync(controller.Address.Authority, Path.Combine(data.Path, "pki", "ca.crt"), Path.Combine(data.Path, "metrics-token"));
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, fleet.Spec(pebble.Directory, Domain));

        var applied = await ServedFleet.CtlAsync(controller, "apply", "-f", spec, "--rollout", "--no-wait");

        Assert.AreEqual(0, applied.ExitCode, applied.Output);
        // Scraped once the certificate is served and the rollout recorded: every series the dashboard shows exists.
        Assert.IsTrue(await Poll.UntilAsync(async () => await prometheus.ValueAsync("count(hawser_certificate_served_not_after_seconds)") >= 1
            && await prometheus.ValueAsync("count(hawser_rollout_state)") >= 1, TimeSpan.FromSeconds(180), TimeSpan.FromSeconds(1)),
            $"{await prometheus.TargetHealthAsync()}\n{fleet.Diagnostics()}");
        var known = await prometheus.MetricNamesAsync();

        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "packaging", "grafana", "hawser-dashboard.json")));
        var queries = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray().Select(t => ($"panel '{panel.GetProperty("title").GetString()}'", t.GetProperty("expr").GetString()!)))
            .ToList();
        Assert.IsGreaterThanOrEqualTo(12, queries.Count, "the dashboard's panels");
        var rules = new YamlStream();
        rules.Load(new StringReader(File.ReadAllText(Path.Combine(RepoPaths.Root, "packaging", "prometheus", "hawser-rules.yml"))));
        var alerts = ((YamlSequenceNode)rules.Documents[0].RootNode["groups"]).Children
            .SelectMany(group => ((YamlSequenceNode)group["rules"]).Children)
            .Select(rule => ($"alert {rule["alert"]}", rule["expr"].ToString()))
            .ToList();
        Assert.IsGreaterThanOrEqualTo(10, alerts.Count, "the alert rules");

        var problems = new List<string>();
        foreach (var (what, expression) in queries.Concat(alerts))
        {
            if (await prometheus.QueryErrorAsync(expression) is { } error)
            {
                problems.Add($"{what}: {error}");
            }
            problems.AddRange(MetricName().Matches(expression).Select(m => m.Value).Where(name => !known.Contains(name))
                .Select(name => $"{what}: {name} is not a metric the controller exports"));
        }
        Assert.IsEmpty(problems, string.Join("\n", problems) + "\nexported: " + string.Join(", ", known.Where(n => n.StartsWith("hawser_", StringComparison.Ordinal)).Order()));
        // The panels show the fleet: the served certificate's days left, and web1 in sync.
        Assert.IsGreaterThan(0.0, (await prometheus.QueryAsync("(min by (certificate, node, target) (hawser_certificate_served_not_after_seconds) - time()) / 86400")).Single().Value);
    }
}
