using System.Globalization;
using Google.Protobuf;
using Hawser.Controller.Api;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;
using Microsoft.Playwright;

namespace Hawser.Benchmarks;

/// <summary>
/// The web UI's Nodes page (and its Overview) with <c>N</c> nodes, in Debian's headless Chromium: first
/// contentful paint, and the time until the whole table is on screen, over several cold loads.
/// The nodes are written into the store before the controller starts (they are offline).
/// </summary>
public static class UiBenchmark
{
    /// <summary>Loads the page <paramref name="rounds"/> times with <paramref name="nodes"/> nodes.</summary>
    public static async Task<int> RunAsync(int nodes, int rounds)
    {
        using var data = new TempDirectory("hawser-bench-ui-");
        await (await ControllerProcess.StartAsync(data.Path)).DisposeAsync();
        // The store holds the data directory's lock: it is closed again before the controller starts.
        using (var store = ControllerStore.Open(data.Path))
        {
            await SeedAsync(store, nodes);
        }
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: "--web-break-glass");
        var token = File.ReadAllText(Path.Combine(data.Path, "ui-token")).Trim();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"] });
        var context = await browser.NewContextAsync(new() { IgnoreHTTPSErrors = true });
        var login = await context.NewPageAsync();
        await login.GotoAsync(new Uri(controller.Address, "/login").ToString());
        await login.FillAsync("input[name=token]", token);
        await login.ClickAsync("button:has-text('Log in')");
        // The first page after login is the overview: its tiles count every node.
        await login.WaitForSelectorAsync("#node-summary [data-count=offline]");
        await login.CloseAsync();
        static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        // The Nodes page (all rows on screen) and the Overview (the tiles counted, the rollout, certificates and trouble read).
        foreach (var (view, ready, what) in new[] { ("nodes", $"tr[data-node=node{nodes:0000}]", $"{nodes} rows"), ("overview", "#trouble", "tiles and lists") })
        {
            var paints = new List<double>();
            var tables = new List<double>();
            for (var round = 1; round <= rounds; round++)
            {
                var page = await context.NewPageAsync();
                await page.GotoAsync(new Uri(controller.Address, $"/#/{view}").ToString(), new() { WaitUntil = WaitUntilState.Commit });
                await page.WaitForSelectorAsync(ready);
                var paint = await page.EvaluateAsync<double>("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1");
                var table = await page.EvaluateAsync<double>("performance.now()");
                paints.Add(paint);
                tables.Add(table);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{view} round {round}: first contentful paint {paint:0} ms, {what} on screen by {table:0} ms"));
                await page.CloseAsync();
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{view} median: fcp_ms={Median(paints):0} ready_ms={Median(tables):0} nodes={nodes}"));
        }
        return 0;
    }

    private static async Task SeedAsync(ControllerStore store, int nodes)
    {
        var report = new StatusReport { Revision = 1 };
        for (var r = 0; r < 6; r++)
        {
            report.Resources.Add(new ResourceStatus { Kind = "sysctl", Name = $"net.ipv4.key{r}", State = ResourceState.InSync });
        }
        var now = DateTimeOffset.UtcNow;
        for (var i = 1; i <= nodes; i++)
        {
            await store.Nodes.UpsertAsync(new NodeRecord
            {
                Name = $"node{i:0000}", Labels = new Dictionary<string, string> { ["role"] = "web", ["rack"] = $"r{i % 20}" }, AgentVersion = "0.1.0",
                FirstSeen = now, LastSeen = now, DesiredRevision = 1, AppliedRevision = 1, LastReport = ReportWire.Report(report),
            });
        }
    }
}
