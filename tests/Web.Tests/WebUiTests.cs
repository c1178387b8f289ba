using System.Net;
using System.Text;
using Hawser.TestSupport;
using Microsoft.Playwright;

namespace Hawser.Web.Tests;

/// <summary>
/// Issue 7's web UI, served by a real controller with five real agents, driven by Debian's Chromium
/// through Playwright; and its API's refusals, asked with a plain HTTP client.
/// </summary>
[TestClass]
public sealed class WebUiTests
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly string[] Nodes = RolloutScenario.Nodes;

    public TestContext TestContext { get; set; } = null!;

    private static HttpClient Client(CookieContainer? cookies = null) => new(new HttpClientHandler
    {
        ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
        AllowAutoRedirect = false,
        CookieContainer = cookies ?? new CookieContainer(),
        UseCookies = true,
    });

    private static string Token(ControllerProcess controller) => File.ReadAllText(Path.Combine(controller.DataDirectory, "ui-token")).Trim();

    [TestMethod]
    public async Task Every_page_and_API_call_needs_a_login_and_every_change_the_CSRF_token()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: "--web-break-glass");
        var baseUri = controller.Address;
        using var anonymous = Client();

        foreach (var page in new[] { "/", "/assets/app.js", "/assets/app.css" })
        {
            using var response = await anonymous.GetAsync(new Uri(baseUri, page));
            Assert.AreEqual(HttpStatusCode.Redirect, response.StatusCode, page);
            Assert.AreEqual("/login", response.Headers.Location?.ToString(), page);
        }
        foreach (var call in new[] { "/api/v1/nodes", "/api/v1/revisions", "/api/v1/rollouts", "/api/v1/certificates", "/api/v1/events", "/api/v1/nodes/web1" })
        {
            using var response = await anonymous.GetAsync(new Uri(baseUri, call));
            Assert.AreEqual(HttpStatusCode.Unauthorized, response.StatusCode, call);
        }
        using (var post = await anonymous.PostAsync(new Uri(baseUri, "/api/v1/rollouts"), new StringContent("{\"revision\":1}", Encoding.UTF8, "application/json")))
        {
            Assert.AreEqual(HttpStatusCode.Unauthorized, post.StatusCode);
        }
        using (var wrong = await anonymous.PostAsync(new Uri(baseUri, "/login"), new FormUrlEncodedContent([new("token", "not-the-token")])))
        {
            Assert.AreEqual(HttpStatusCode.Unauthorized, wrong.StatusCode);
            StringAssert.Contains(await wrong.Content.ReadAsStringAsync(), "That is not the admin token");
        }

        // The admin client certificate logs in too; without one, asking for it is refused.
        using (var refusedCertificate = await anonymous.PostAsync(new Uri(baseUri, "/login"), new FormUrlEncodedContent([new("method", "certificate")])))
        {
            Assert.AreEqual(HttpStatusCode.Unauthorized, refusedCertificate.StatusCode);
        }
        using (var withCertificate = new HttpClient(new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
            AllowAutoRedirect = false,
            ClientCertificates = { System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(
                Path.Combine(controller.DataDirectory, "pki", "admin.crt"), Path.Combine(controller.DataDirectory, "pki", "admin.key")) },
        }))
        {
            using var certificateLogin = await withCertificate.PostAsync(new Uri(baseUri, "/login"), new FormUrlEncodedContent([new("method", "certificate")]));
            Assert.AreEqual(HttpStatusCode.Redirect, certificateLogin.StatusCode);
            StringAssert.Contains(string.Join("\n", certificateLogin.Headers.GetValues("Set-Cookie")), "hawser_session=");
        }

        var cookies = new CookieContainer();
        using var browser = Client(cookies);
        using var login = await browser.PostAsync(new Uri(baseUri, "/login"), new FormUrlEncodedContent([new("token", Token(controller))]));
        Assert.AreEqual(HttpStatusCode.Redirect, login.StatusCode);
        var setCookie = string.Join("\n", login.Headers.GetValues("Set-Cookie"));
        StringAssert.Contains(setCookie, "hawser_session=");
        StringAssert.Contains(setCookie, "httponly");
        StringAssert.Contains(setCookie, "secure");
        StringAssert.Contains(setCookie, "samesite=strict");

        using var nodes = await browser.GetAsync(new Uri(baseUri, "/api/v1/nodes"));
        Assert.AreEqual(HttpStatusCode.OK, nodes.StatusCode);
        using var index = await browser.GetAsync(new Uri(baseUri, "/"));
        var html = await index.Content.ReadAsStringAsync();
        var csrf = html.Split("name=\"csrf-token\" content=\"")[1].Split('"')[0];
        Assert.IsGreaterThan(20, csrf.Length);
        foreach (var header in new[] { null, "wrong" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, "/api/v1/rollouts")) { Content = new StringContent("{\"revision\":1}", Encoding.UTF8, "application/json") };
            if (header is not null)
            {
                request.Headers.Add("X-CSRF-Token", header);
            }
            using var refused = await browser.SendAsync(request);
            Assert.AreEqual(HttpStatusCode.Forbidden, refused.StatusCode, $"a POST with CSRF token '{header}' is refused");
        }
        using var allowed = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, "/api/v1/rollouts")) { Content = new StringContent("{\"revision\":1}", Encoding.UTF8, "application/json") };
        allowed.Headers.Add("X-CSRF-Token", csrf);
        using var answered = await browser.SendAsync(allowed);
        Assert.AreEqual(HttpStatusCode.Conflict, answered.StatusCode, "with the token the call gets through (and is refused for its content: no revision 1)");
        StringAssert.Contains(await answered.Content.ReadAsStringAsync(), "revision 1 does not exist");

        // The check options reach the engine's validation, which names the bad one.
        using var badCheck = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, "/api/v1/rollouts"))
        {
            Content = new StringContent("{\"revision\":1,\"check\":\"http://{address}/health\",\"expectStatus\":\"(\",\"hold\":\"5s\"}", Encoding.UTF8, "application/json"),
        };
        badCheck.Headers.Add("X-CSRF-Token", csrf);
        using var refusedCheck = await browser.SendAsync(badCheck);
        Assert.AreEqual(HttpStatusCode.Conflict, refusedCheck.StatusCode);
        var error = System.Text.Json.JsonDocument.Parse(await refusedCheck.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        StringAssert.Contains(error, "check #1: expect-status '(' is not a regular expression");

        // The form's durations are read as hawserctl reads them: a bare number is refused, not taken as days.
        using var bareNumber = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, "/api/v1/rollouts"))
        {
            Content = new StringContent("{\"revision\":1,\"pause\":\"5\"}", Encoding.UTF8, "application/json"),
        };
        bareNumber.Headers.Add("X-CSRF-Token", csrf);
        using var refusedPause = await browser.SendAsync(bareNumber);
        Assert.AreEqual(HttpStatusCode.BadRequest, refusedPause.StatusCode);
        StringAssert.Contains(System.Text.Json.JsonDocument.Parse(await refusedPause.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), "pause '5' has no unit");
    }

    [TestMethod]
    public async Task An_operator_rolls_out_from_the_browser_pauses_resumes_and_watches_a_failure_rolled_back_live()
    {
        Assert.IsTrue(File.Exists(Chromium), $"{Chromium} is missing: scripts/install-deps.sh installs Debian's chromium");
        await using var fleet = await AgentFleet.StartAsync(Nodes, RolloutScenario.PrepareHost);
        Assert.AreEqual(0, (await fleet.ApplyAsync("v1.yaml", RolloutScenario.V1, "-m", "keepalive 600")).ExitCode);
        await fleet.WaitAppliedAsync(1);
        // Stored without pushing: both go out from the browser.
        foreach (var (file, spec, message) in new[] { ("v2.yaml", RolloutScenario.V2Good, "keepalive 610, ufw accept"), ("v3.yaml", RolloutScenario.V2, "and fin_timeout 30") })
        {
            var stored = await fleet.ApplyAsync(file, spec, "-m", message, "--store-only");
            Assert.AreEqual(0, stored.ExitCode, stored.Output);
            StringAssert.Contains(stored.StandardOutput, "stored; nothing pushed (hawserctl rollout start");
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var context = await browser.NewContextAsync(new() { IgnoreHTTPSErrors = true, ViewportSize = new() { Width = 1200, Height = 900 } });
        var page = await context.NewPageAsync();
        // Every console error and every response of 400 or more, on any page, is a defect (a CSP refusal, a missing icon).
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            // Chromium drops requests in flight when the machine's addresses change (the demo and the fleet tests add
            // veths beside this test); the page reads again, and only a defect of the page counts here.
            if (message.Type == "error" && !message.Text.Contains("net::ERR_NETWORK_CHANGED", StringComparison.Ordinal))
            {
                lock (consoleErrors)
                {
                    consoleErrors.Add(message.Text);
                }
            }
        };
        var dialogs = new List<string>();
        var acceptDialogs = false;
        page.Dialog += async (_, dialog) =>
        {
            dialogs.Add(dialog.Message);
            await (acceptDialogs ? dialog.AcceptAsync() : dialog.DismissAsync());
        };
        // Every page shot is also checked by axe-core against WCAG 2.1 A and AA (issue 29): each violation is kept with its page.
        var checks = await PageChecks.CreateAsync(TestContext);
        var accessibility = checks.Violations;
        Task ShotAsync(IPage on, string name) => checks.ShotAsync(on, name);

        await page.GoAsync(fleet.Controller.Address.ToString());
        Assert.EndsWith("/login", page.Url, "not logged in: the page sends the browser to the login form");
        Assert.AreEqual("448px", await page.EvaluateAsync<string>("getComputedStyle(document.body).maxWidth"), "the login page's stylesheet is applied (28em at 16px)");
        var favicon = await page.APIRequest.GetAsync(new Uri(fleet.Controller.Address, "/favicon.ico").ToString());
        Assert.AreEqual(200, favicon.Status, "the icon browsers ask for is served");
        await ShotAsync(page, "login");
        await page.FillAsync("input[name=token]", Token(fleet.Controller));
        await page.ClickAsync("button:has-text('Log in')");
        // The first page is the overview (issue 29): tiles count the nodes by state, and each leads to the nodes it counts.
        await page.WaitForSelectorAsync("#node-summary [data-count=in-sync]");
        await page.WaitForFunctionAsync("document.querySelector('#node-summary [data-count=\"in-sync\"] .state')?.textContent === '5'");
        StringAssert.Contains(await page.InnerTextAsync("#rollout-banner"), "No rollout is running.");
        // The controller's own health: serving, its store, the agents it holds.
        Assert.AreEqual("true", await page.GetAttributeAsync("#controller-health", "data-serving"));
        StringAssert.Contains(await page.InnerTextAsync("#controller-health"), "serving · version ");
        StringAssert.Contains(await page.InnerTextAsync("#controller-health"), "store sqlite · 5 of 5 agent(s) connected");
        // The charts, drawn from the event log and the reports: revision 1's five converges in this hour, no drift yet.
        StringAssert.Contains(await page.GetAttributeAsync("#chart-outcomes svg", "aria-label"), ": 5 converged, 0 failed, 0 drift corrected");
        Assert.AreEqual(5, await page.EvaluateAsync<int>("[...document.querySelectorAll('#chart-outcomes rect.converged')].reduce((sum, r) => sum + Number(r.dataset.count), 0)"),
            "the bars add up to the five converges");
        StringAssert.Contains(await page.InnerTextAsync("#chart-drift"), "No drift corrected");
        await ShotAsync(page, "overview");
        await page.ClickAsync("#node-summary [data-count=in-sync]");
        await page.WaitForSelectorAsync("tr[data-node=web5][data-state=in-sync]");
        await page.FillAsync("#node-filter", "");
        // The nodes page: counts by state, a filter that outlives live refreshes, sortable columns, "ago" times.
        await page.WaitForFunctionAsync("document.querySelector('#node-summary [data-count=\"in-sync\"] .state')?.textContent === '5'");
        StringAssert.Matches(await page.InnerTextAsync("tr[data-node=web1] td[data-last-seen]"), new System.Text.RegularExpressions.Regex(@"^\d+ (s|min|h|d) ago$"));
        await page.FillAsync("#node-filter", "web3");
        Assert.AreEqual(1, await page.Locator("tr[data-node]").CountAsync(), "the filter leaves web3");
        await fleet.Controller.WaitForReportsAsync(2);
        Assert.AreEqual(1, await page.Locator("tr[data-node]").CountAsync(), "the filter outlives the live refreshes");
        Assert.AreEqual("web3", await page.InputValueAsync("#node-filter"));
        Assert.IsTrue(await page.EvaluateAsync<bool>("document.activeElement.id === 'node-filter'"), "typing is not interrupted by a refresh");
        await page.FillAsync("#node-filter", "");
        await page.ClickAsync("th[data-sort=name] button");
        Assert.AreEqual("web5", await page.GetAttributeAsync("tbody tr[data-node] >> nth=0", "data-node"), "sorted by name, descending");
        await page.ClickAsync("th[data-sort=name] button");
        Assert.AreEqual("web1", await page.GetAttributeAsync("tbody tr[data-node] >> nth=0", "data-node"));
        await ShotAsync(page, "nodes");

        await page.ClickAsync("nav a[data-view=revisions]");
        // Unified first: only the hunk, with line numbers and +/-; side by side on request.
        await page.WaitForSelectorAsync("#diff table.unified tr.added");
        var unified = await page.InnerTextAsync("#diff table.unified");
        StringAssert.Contains(unified, "+", "the added line is marked");
        StringAssert.Contains(unified, "net.ipv4.tcp_fin_timeout", "revision 3 against revision 2");
        StringAssert.StartsWith(await page.InnerTextAsync("#diff tr.hunk"), "@@ -");
        var specLines = RolloutScenario.V2.Split('\n').Length;
        Assert.IsLessThan(specLines + 2, await page.Locator("#diff table.unified tr").CountAsync(), "hunks, not the whole file");
        await page.ClickAsync("#diff-toggle");
        await page.WaitForSelectorAsync("#diff table.diff td.changed");
        await ShotAsync(page, "revisions");

        await page.ClickAsync("nav a[data-view=certificates]");
        await page.WaitForSelectorAsync("text=asks the controller for no certificates");
        await ShotAsync(page, "certificates");

        // From here the page never reloads: progress arrives by server-sent events.
        await page.ClickAsync("nav a[data-view=rollouts]");
        await page.WaitForSelectorAsync("#rollout-form");
        await page.EvaluateAsync("window.__sameDocument = true");
        await page.SelectOptionAsync("#rollout-revision", "2");
        await page.FillAsync("input[name=batch]", "2");
        await page.FillAsync("input[name=pause]", "10s");
        await ShotAsync(page, "rollouts");
        // Nodes report all the while; what the operator typed must survive the live refreshes they cause.
        await fleet.Controller.WaitForReportsAsync(2);
        Assert.AreEqual("10s", await page.InputValueAsync("input[name=pause]"), "the form kept its values");
        await page.ClickAsync("#rollout-start");
        await page.WaitForSelectorAsync("tr[data-node=web2][data-state=healthy]", new() { Timeout = 30_000 });
        try
        {
            await page.ClickAsync("#rollout-pause", new() { Timeout = 5000 });
        }
        catch (TimeoutException)
        {
            throw new AssertFailedException($"Pause not clickable; the page shows:\n{await page.InnerTextAsync("#view")}\n{fleet.Diagnostics()}");
        }
        await page.WaitForSelectorAsync("#rollout-state[data-state=paused]");
        // Past the time the next batch was due, and every node reported again (each report wakes the engine).
        var status = System.Text.Json.JsonDocument.Parse((await fleet.CtlAsync("rollout", "status", "-o", "json")).StandardOutput).RootElement;
        if (status.TryGetProperty("nextBatchAt", out var nextBatch) && nextBatch.ValueKind == System.Text.Json.JsonValueKind.String)
        {
            var due = nextBatch.GetDateTimeOffset();
            await Poll.UntilAsync(() => DateTimeOffset.UtcNow > due, TimeSpan.FromMinutes(1));
        }
        await fleet.Controller.WaitForReportsAsync(2);
        Assert.AreEqual("pending", await page.GetAttributeAsync("tr[data-node=web3]", "data-state"), "paused past the pause between batches: nothing moved");
        // Issue 29, item 9: a paused rollout promises no next batch, and a held node's page says what holds it.
        Assert.DoesNotContain("next batch at", await page.InnerTextAsync("#rollout-summary"));
        var held = await page.Context.NewPageAsync();
        await held.GoAsync(page.Url.Split('#')[0] + "#/nodes/web3");
        await held.WaitForSelectorAsync("#node-why");
        StringAssert.Contains(await held.InnerTextAsync("#node-why"), "A rollout holds it on revision 1 (pinned).");
        await held.CloseAsync();
        await page.ClickAsync("#rollout-resume");
        await page.WaitForSelectorAsync("#rollout-state[data-state=done]", new() { Timeout = 60_000 });
        Assert.AreEqual(5, await page.Locator("tr[data-state=healthy]").CountAsync(), "every node healthy on revision 2");
        await ShotAsync(page, "rollout-done");
        var before = fleet.Snapshot();

        await page.ClickAsync("nav a[data-view=rollouts]");
        await page.WaitForSelectorAsync("#rollout-form");
        await page.SelectOptionAsync("#rollout-revision", "3");
        await page.FillAsync("input[name=batch]", "2");
        await page.ClickAsync("#rollout-start");
        // Paused by web4's failure: promoting would skip its judgement, so Promote is off; Abort and Rollback ask first.
        await page.WaitForSelectorAsync("#rollout-state[data-state=paused]", new() { Timeout = 60_000 });
        Assert.IsTrue(await page.IsDisabledAsync("#rollout-promote"), "no promote past a failure");
        StringAssert.Contains(await page.InnerTextAsync("#rollout-reason"), "web4");
        // The overview, at a glance: the paused rollout with its batches (placed / healthy / failed), the failed node
        // counted, and its failure among the recent ones; on a laptop and on a phone.
        foreach (var (width, height, shot, dark) in new[] { (1280, 900, "overview-paused", false), (390, 844, "overview-paused-phone", false), (1280, 900, "overview-paused-dark", true) })
        {
            var glance = await context.NewPageAsync();
            await glance.SetViewportSizeAsync(width, height);
            // The dark theme follows the system's preference.
            await glance.EmulateMediaAsync(new() { ColorScheme = dark ? ColorScheme.Dark : ColorScheme.Light });
            await glance.GoAsync(new Uri(fleet.Controller.Address, "/#/overview").ToString());
            await glance.WaitForSelectorAsync("#rollout-banner[data-state=paused]");
            await glance.WaitForSelectorAsync("#trouble li[data-kind='node.failed']");
            Assert.AreEqual("1", await glance.InnerTextAsync("#node-summary [data-count=failed] .state"), "web4 counted as failed");
            Assert.AreEqual(1, await glance.Locator("#rollout-banner li[data-failed='1']").CountAsync(), "one batch with web4's failure");
            StringAssert.Contains(await glance.InnerTextAsync("#trouble"), "web4 node.failed");
            Assert.IsGreaterThanOrEqualTo(1, await glance.Locator("#chart-outcomes rect.failed").CountAsync(), "web4's failure is in the chart");
            Assert.IsTrue(await glance.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), $"no sideways scrolling at {width} px");
            if (dark)
            {
                Assert.AreEqual("rgb(18, 20, 23)", await glance.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor"), "the dark theme is applied");
            }
            await ShotAsync(glance, shot);
            await glance.CloseAsync();
        }
        await page.ClickAsync("#rollout-abort");
        Assert.IsTrue(dialogs.Any(d => d.StartsWith("Abort rollout", StringComparison.Ordinal)), string.Join("; ", dialogs));
        await fleet.Controller.WaitForReportsAsync(1);
        Assert.AreEqual("paused", await page.GetAttributeAsync("#rollout-state", "data-state"), "a dismissed confirmation changes nothing");
        acceptDialogs = true;
        await page.ClickAsync("#rollout-rollback");
        await page.WaitForSelectorAsync("#rollout-state[data-state=rolled-back]", new() { Timeout = 60_000 });
        // The rollout's timeline, from the event log: each step with its time, who acted, and how long after the step before.
        await page.WaitForFunctionAsync("document.querySelector('#rollout-timeline')?.innerText.includes('rolling-back -> rolled-back')");
        var timeline = await page.InnerTextAsync("#rollout-timeline");
        StringAssert.Contains(timeline, "started: revision 3 to 5 node(s) in 3 batch(es)");
        StringAssert.Contains(timeline, "web4: moving -> failed");
        StringAssert.Contains(timeline, "paused -> rolling-back: rollback requested by the operator");
        StringAssert.Contains(timeline, "break-glass (admin token ", "the rollback is the break-glass login's, by name");
        await ShotAsync(page, "rollout-rolled-back");

        Assert.IsTrue(await page.EvaluateAsync<bool>("window.__sameDocument === true"), "the progress arrived without reloading the page");
        StringAssert.Contains(await page.InnerTextAsync("tr[data-node=web4]"), "failed: sysctl:net.ipv4.tcp_fin_timeout");
        Assert.AreEqual("pending", await page.GetAttributeAsync("tr[data-node=web5]", "data-state"));
        var after = fleet.Snapshot();
        for (var i = 0; i < Nodes.Length; i++)
        {
            Assert.IsTrue(before[i].Count == after[i].Count && before[i].All(f => after[i].GetValueOrDefault(f.Key) == f.Value),
                $"{Nodes[i]}: its files are as before the failed rollout\n{fleet.Diagnostics()}");
        }

        // web4's node page: its timeline holds the failure with the resource and the error.
        await page.GoAsync(new Uri(fleet.Controller.Address, "/#/nodes/web4").ToString());
        await page.WaitForSelectorAsync("tr[data-kind='node.failed']");
        StringAssert.Contains(await page.InnerTextAsync("tr[data-kind='node.failed'] >> nth=0"), "sysctl:net.ipv4.tcp_fin_timeout failed");
        // Its lists are searchable too: the timeline keeps what mentions the failed sysctl.
        var steps = await page.Locator("#node-timeline tbody tr").CountAsync();
        await page.FillAsync("#timeline-search", "fin_timeout");
        var kept = await page.Locator("#node-timeline tbody tr:visible").CountAsync();
        Assert.IsTrue(kept >= 1 && kept < steps, $"{kept} of {steps} steps mention fin_timeout");
        Assert.AreEqual(kept, await page.Locator("#node-timeline tbody tr:visible", new() { HasTextString = "fin_timeout" }).CountAsync());
        await page.FillAsync("#timeline-search", "");
        await ShotAsync(page, "node");

        // The event log page: filtered to failures, it lists web4's; it follows live (a new event appears without a reload).
        await page.ClickAsync("nav a[data-view=events]");
        await page.WaitForSelectorAsync("#event-filter");
        await page.SelectOptionAsync("#event-filter select[name=kind]", "node.failed");
        await page.WaitForSelectorAsync("#event-log[data-kind='node.failed'] tr[data-kind='node.failed'][data-node=web4]");
        Assert.AreEqual(0, await page.Locator("#event-log tr:not([data-kind='node.failed'])").CountAsync() - 1, "only failures (and the header row)");
        await page.SelectOptionAsync("#event-filter select[name=kind]", "token");
        await page.WaitForSelectorAsync("#event-log[data-kind='token'] p.muted, #event-log[data-kind='token'] tr[data-kind^='token']");
        var rows = await page.Locator("#event-log tr[data-kind^='token']").CountAsync();
        Assert.AreEqual(0, (await fleet.CtlAsync("token", "create")).ExitCode);
        Assert.IsTrue(await Poll.UntilAsync(async () => await page.Locator("#event-log tr[data-kind^='token']").CountAsync() > rows, TimeSpan.FromSeconds(30)),
            "the new token's event appears without a reload");
        await ShotAsync(page, "events");

        // Search on every list: the rollouts list keeps the rows holding every word typed, and says how many it hid.
        await page.GoAsync(new Uri(fleet.Controller.Address, "/#/rollouts").ToString());
        await page.WaitForSelectorAsync("#rollout-list tr[data-rollout]");
        var listed = await page.Locator("#rollout-list tr[data-rollout]").CountAsync();
        await page.FillAsync("#rollout-search", "rolled-back");
        Assert.AreEqual(1, await page.Locator("#rollout-list tr[data-rollout]:visible").CountAsync(), "only the rolled-back rollout is left");
        StringAssert.Contains(await page.InnerTextAsync("#rollout-list tr[data-rollout]:visible"), "rolled-back");
        Assert.AreEqual($"{listed - 1} of {listed} hidden by the search.", await page.InnerTextAsync("#rollout-list .search-note"));

        // On a phone: the page fits the width, and each list's rows are cards with every cell named by its column.
        var phone = await context.NewPageAsync();
        await phone.SetViewportSizeAsync(390, 844);
        await phone.GoAsync(new Uri(fleet.Controller.Address, "/#/nodes").ToString());
        await phone.WaitForSelectorAsync("tr[data-node=web5]");
        Assert.IsTrue(await phone.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling of the page on a phone");
        Assert.IsTrue(await phone.EvaluateAsync<bool>("[...document.querySelectorAll('.table-wrap')].every((w) => w.scrollWidth <= w.clientWidth)"), "no table scrolls sideways either");
        Assert.AreEqual("block", await phone.EvaluateAsync<string>("getComputedStyle(document.querySelector('tr[data-node=web5]')).display"), "a node is a card");
        Assert.AreEqual("State: ", await phone.EvaluateAsync<string>("getComputedStyle(document.querySelector('tr[data-node=web5] td.state'), '::before').content.replaceAll('\"', '')"));
        await ShotAsync(phone, "nodes-phone");
        // The side-by-side diff needs two columns of text: on a phone the diff is unified, with no toggle.
        await phone.GoAsync(new Uri(fleet.Controller.Address, "/#/revisions").ToString());
        await phone.WaitForSelectorAsync("#diff table.diff.unified");
        Assert.AreEqual(0, await phone.Locator("#diff-toggle").CountAsync(), "no side-by-side on a phone");
        Assert.IsTrue(await phone.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the revisions page and its diff fit a phone");
        await ShotAsync(phone, "revisions-phone");
        Assert.IsEmpty(consoleErrors, "the console stayed clean on every page: " + string.Join("\n", consoleErrors));
        Assert.IsEmpty(accessibility, "axe-core found WCAG 2.1 A/AA violations:\n" + string.Join("\n", accessibility));
    }
}
