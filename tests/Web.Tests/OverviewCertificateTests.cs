using System.Text.Json;
using Hawser.TestSupport;
using Microsoft.Playwright;

namespace Hawser.Web.Tests;

/// <summary>
/// Issue 29's overview with a certificate about to expire: Pebble issues three-day certificates to a real agent answering
/// HTTP-01, and Debian's Chromium shows the overview at 1280 and 390 px, checked by axe-core.
/// </summary>
[TestClass]
public sealed class OverviewCertificateTests
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Domain = "soon.rr-fleet.test";

    public TestContext TestContext { get; set; } = null!;

    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    [TestMethod]
    public async Task A_certificate_with_days_left_is_red_on_the_overview_with_each_nodes_time_left_on_a_laptop_and_a_phone()
    {
        Assert.IsTrue(File.Exists(Chromium), $"{Chromium} is missing: scripts/install-deps.sh installs Debian's chromium");
        // Three-day certificates: under a week left, which the overview colours red.
        await using var pebble = await PebbleServer.StartAsync(validitySeconds: 3 * 86400);
        await pebble.SetAddressesAsync(Domain, "127.0.4.86");
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: ["--web-break-glass", "--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer]);
        using var host = new AgentHost();
        await using var agent = await AgentProcess.StartAnsweringHttp01Async(controller, host, "web1", "127.0.4.86");
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, $$$"""
            apiVersion: hawser/v1
            acme: {directory: "{{{pebble.Directory}}}", validationPort: {{{PebbleServer.HttpChallengePort}}}}
            nodes:
              web1:
                certificates:
                  - name: www
                    domains: [{{{Domain}}}]
                    install: [{format: pem-pair, cert: /etc/ssl/hawser/www.crt, key: /etc/ssl/hawser/www.key, verify: false}]
            """);
        var applied = await Ctl(controller, "apply", "-f", spec);
        Assert.AreEqual(0, applied.ExitCode, applied.Output + "\n" + string.Join("\n", controller.Log));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var context = await browser.NewContextAsync(new() { IgnoreHTTPSErrors = true });
        var checks = await PageChecks.CreateAsync(TestContext);
        var page = await context.NewPageAsync();
        await page.GoAsync(new Uri(controller.Address, "/login").ToString());
        await page.FillAsync("input[name=token]", controller.WebToken);
        await page.ClickAsync("button:has-text('Log in')");
        foreach (var (width, height, shot) in new[] { (1280, 900, "overview-expiring"), (390, 844, "overview-expiring-phone") })
        {
            await page.SetViewportSizeAsync(width, height);
            await page.GoAsync(new Uri(controller.Address, "/#/overview").ToString());
            await page.WaitForSelectorAsync("#expiring li[data-certificate=www]");
            Assert.AreEqual("bad", await page.GetAttributeAsync("#expiring li[data-certificate=www]", "class"), "under a week left is red");
            var days = int.Parse(await page.GetAttributeAsync("#expiring li[data-certificate=www]", "data-days") ?? "", System.Globalization.CultureInfo.InvariantCulture);
            Assert.IsTrue(days is 2 or 3, $"{days} days left of a three-day certificate");
            StringAssert.Contains(await page.InnerTextAsync("#expiring"), $"www {days} day(s) left");
            Assert.AreEqual(1, await page.Locator("#chart-lifetime rect.failed[data-node=web1]").CountAsync(), "web1's time left is a red bar");
            StringAssert.Contains(await page.GetAttributeAsync("#chart-lifetime svg", "aria-label"), $"web1 {days} day(s)");
            Assert.IsTrue(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), $"no sideways scrolling at {width} px");
            await checks.ShotAsync(page, shot);
        }
        Assert.IsEmpty(checks.Violations, "axe-core found WCAG 2.1 A/AA violations:\n" + string.Join("\n", checks.Violations));
    }
}
