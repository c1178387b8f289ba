using System.Text.Json;
using Hawser.TestSupport;
using Microsoft.Playwright;

namespace Hawser.Web.Tests;

/// <summary>
/// Single sign-on to the web UI in Debian's Chromium against a real OpenID Connect provider (npm's oidc-provider): its groups
/// claim mapped to roles by the controller's --sso settings. A viewer sees the nodes, no rollout or renewal controls, and a
/// forged POST with its cookie and antiforgery token is refused 403 by role; a person in no mapped group is refused; each
/// sign-in and refusal is an event naming the person.
/// </summary>
[TestClass]
public sealed class SsoTests
{
    private const string Chromium = "/usr/bin/chromium";

    [TestMethod]
    public async Task A_viewer_signed_in_through_the_identity_provider_sees_the_fleet_and_is_refused_a_change()
    {
        Assert.IsTrue(File.Exists(Chromium), $"{Chromium} is missing: scripts/install-deps.sh installs Debian's chromium");
        using var data = new TempDirectory();
        var listen = $"127.0.0.1:{AgentFleet.FreePort()}";
        using var provider = await OpenIdProvider.StartAsync(new Uri($"https://{listen}/signin-sso"));
        var settings = Path.Combine(data.Path, "sso.yaml");
        File.WriteAllText(settings, $$"""
            authority: {{provider.Authority}}
            clientId: hawser
            clientSecretFile: {{provider.SecretFile}}
            caFile: {{provider.CaFile}}
            displayName: Example SSO
            scopes: [groups]
            groups:
              hawser-admins: {role: admin}
              hawser-viewers: {role: viewer}
            """);
        await using var controller = await ControllerProcess.StartAsync(Path.Combine(data.Path, "controller"), listen, null, "--sso", settings);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });

        // A person in none of the mapped groups is refused, by name.
        var stranger = await (await browser.NewContextAsync(new() { IgnoreHTTPSErrors = true })).NewPageAsync();
        await SignInAsync(stranger, controller, "nobody");
        await stranger.WaitForSelectorAsync("p.error");
        StringAssert.Contains(await stranger.InnerTextAsync("p.error"), "nobody@example.org signed in at Example SSO, but is in none of the groups");

        var context = await browser.NewContextAsync(new() { IgnoreHTTPSErrors = true });
        var page = await context.NewPageAsync();
        await SignInAsync(page, controller, "vera");
        await page.WaitForSelectorAsync("#who");
        Assert.AreEqual("vera@example.org (viewer)", await page.InnerTextAsync("#who"));
        await page.WaitForSelectorAsync("#node-summary");

        // The rollouts page has the list but no form, and the certificates page no renew button.
        await page.GoAsync(new Uri(controller.Address, "/#/rollouts").ToString());
        await page.WaitForSelectorAsync("#rollout-list");
        Assert.AreEqual(0, await page.Locator("#rollout-form").CountAsync(), "a viewer is shown no rollout form");
        Assert.AreEqual(0, await page.Locator("#rollout-start").CountAsync());

        // A forged change with the viewer's cookie and its own antiforgery token is refused by role.
        var csrf = await page.GetAttributeAsync("meta[name=csrf-token]", "content");
        var forged = await page.APIRequest.PostAsync(new Uri(controller.Address, "/api/v1/rollouts").ToString(), new()
        {
            Headers = new Dictionary<string, string> { ["X-CSRF-Token"] = csrf!, ["Content-Type"] = "application/json" },
            DataString = "{\"revision\":1}",
        });
        Assert.AreEqual(403, forged.Status, await forged.TextAsync());
        Assert.AreEqual("operator 'vera@example.org' is a viewer: POST /api/v1/rollouts needs the operator or admin role",
            JsonDocument.Parse(await forged.TextAsync()).RootElement.GetProperty("error").GetString());
        var whoami = await page.APIRequest.GetAsync(new Uri(controller.Address, "/api/v1/whoami").ToString());
        StringAssert.Contains(await whoami.TextAsync(), "\"role\":\"viewer\"");

        // Who signed in and who was refused, by name (a refusal's event is stored beside the request, at once).
        List<string> seen = [];
        string[] expected = ["web.login-refused nobody@example.org", "web.login vera@example.org", "web.refused vera@example.org"];
        Assert.IsTrue(await Poll.UntilAsync(async () =>
        {
            var events = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "events", "--kind", "web", "-o", "json"]);
            seen = [.. JsonDocument.Parse(events.StandardOutput).RootElement.GetProperty("events").EnumerateArray()
                .Select(e => $"{e.GetProperty("kind").GetString()} {e.GetProperty("actor").GetString()}")];
            return expected.All(seen.Contains);
        }, TimeSpan.FromSeconds(30)), string.Join("\n", seen));
    }

    /// <summary>From the login page through the provider's own login and consent forms, back to the controller.</summary>
    private static async Task SignInAsync(IPage page, ControllerProcess controller, string login)
    {
        await page.GoAsync(new Uri(controller.Address, "/login").ToString());
        await page.ClickAsync("#sso");
        await page.FillAsync("input[name=login]", login);
        await page.FillAsync("input[name=password]", "any");
        await page.ClickAsync("button[type=submit]");
        // The provider asks for consent once per client.
        await page.ClickAsync("button[type=submit]");
    }
}
