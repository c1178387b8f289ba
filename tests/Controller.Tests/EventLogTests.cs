using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>The controller's event log through hawserctl: actors, refused logins, --follow, and retention.</summary>
[TestClass]
public sealed class EventLogTests
{
    private static async Task<JsonElement[]> EventsAsync(ControllerProcess controller, params string[] filter)
    {
        var result = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "events", "-o", "json", .. filter]);
        Assert.AreEqual(0, result.ExitCode, result.Output);
        return [.. JsonDocument.Parse(result.StandardOutput).RootElement.GetProperty("events").EnumerateArray()];
    }

    private static Task<ProcessResult> CtlAsync(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    [TestMethod]
    public async Task A_refused_web_login_and_token_changes_are_logged_and_follow_sees_an_event_made_after_it_started()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        Assert.AreEqual(0, (await CtlAsync(controller, "token", "create")).ExitCode);
        using (var client = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true, AllowAutoRedirect = false }))
        {
            var refused = await client.PostAsync(new Uri(controller.Address, "/login"), new FormUrlEncodedContent([new("token", "not-the-token")]));
            Assert.AreEqual(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        var web = await EventsAsync(controller, "--kind", "web");
        Assert.AreEqual("web.login-refused", web.Single().GetProperty("kind").GetString());
        StringAssert.Contains(web.Single().GetProperty("summary").GetString(), "web login refused from 127.0.0.1");

        // Follow starts from now (issue 29, item 14): the token created before it is not printed again; it says so on stderr.
        using var follow = HawserProcesses.Start("hawserctl", ["--config", controller.CtlConfig, "events", "--follow", "--kind", "token", "-o", "json"]);
        try
        {
            var note = await follow.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            StringAssert.StartsWith(note, "following new events");
            var created = await CtlAsync(controller, "token", "create", "-o", "json");
            var id = JsonDocument.Parse(created.StandardOutput).RootElement.GetProperty("token").GetString()!.Split('.')[0];
            Assert.AreEqual(0, (await CtlAsync(controller, "token", "revoke", id)).ExitCode);

            var second = JsonDocument.Parse(await NextLineAsync(follow)).RootElement;
            var third = JsonDocument.Parse(await NextLineAsync(follow)).RootElement;
            Assert.AreEqual("token.created", second.GetProperty("kind").GetString(), "the first line is the token created after following began");
            // Times as status -o json writes them: UTC, milliseconds, 'Z' (no offset escaped as \u002B).
            StringAssert.Matches(second.GetProperty("at").GetString(), new System.Text.RegularExpressions.Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"));
            StringAssert.Contains(second.GetProperty("summary").GetString(), $"join token {id} created");
            Assert.AreEqual("token.revoked", third.GetProperty("kind").GetString());
            var author = third.GetProperty("actor").GetString();
            Assert.IsFalse(string.IsNullOrEmpty(author) || author == "controller", "the admin certificate's subject acted: " + author);
        }
        finally
        {
            follow.Kill(entireProcessTree: true);
        }
    }

    [TestMethod]
    public async Task Retention_prunes_an_event_older_than_the_window()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--event-retention", "2s");
        Assert.AreEqual(0, (await CtlAsync(controller, "token", "create")).ExitCode);
        // No look at the event before it goes: on a loaded machine hawserctl may start after the 2 s are over.
        // The pruner's own line below says it was stored and removed.

        var pruned = await Poll.UntilAsync(async () => (await EventsAsync(controller, "--kind", "token")).Length == 0, TimeSpan.FromSeconds(60));

        Assert.IsTrue(pruned, "the event outlived a 2 s retention window\n" + string.Join("\n", controller.Log));
        Assert.IsTrue(controller.Log.Any(l => l.Contains("event log: 1 event(s) older than", StringComparison.Ordinal)), string.Join("\n", controller.Log));
    }

    private static async Task<string> NextLineAsync(Process process) =>
        await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) ?? throw new AssertFailedException(
            "hawserctl events --follow ended: " + await process.StandardError.ReadToEndAsync());
}
