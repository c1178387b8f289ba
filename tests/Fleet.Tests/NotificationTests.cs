using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Told, not polled: a real agent's failed converge and its going offline reach an HTTP receiver the test runs (a stand-in
/// for a chat service or an incident tool, none of which is served here), signed with the receiver's secret.
/// </summary>
[TestClass]
public sealed class NotificationTests
{
    [TestMethod]
    public async Task A_real_agents_failed_converge_and_its_going_offline_each_reach_the_receiver_once()
    {
        const string secret = "a-secret-of-at-least-16-characters";
        using var config = new TempDirectory();
        using var receiver = WebhookReceiver.Start();
        File.WriteAllText(Path.Combine(config.Path, "oncall.secret"), secret);
        var file = Path.Combine(config.Path, "notifications.yaml");
        File.WriteAllText(file, $$"""
            receivers:
              oncall: {webhook: {{receiver.Url()}}, secretFile: oncall.secret}
            routes:
              failures: {to: [oncall], kinds: [node.failed, node.offline]}
            offlineAfter: 3s
            """);
        await using var fleet = await AgentFleet.StartAsync(["web3", "web4"], RolloutScenario.PrepareHost, "--notifications", file);

        // web4 lacks net.ipv4.tcp_fin_timeout (RolloutScenario): the revision fails there alone.
        var applied = await fleet.ApplyAsync("v2.yaml", RolloutScenario.V2);

        Assert.AreEqual(1, applied.ExitCode, applied.Output);
        Assert.IsTrue(await Poll.UntilAsync(() => receiver.Requests.Any(r => r.Json.GetProperty("kind").GetString() == "node.failed"), TimeSpan.FromSeconds(60)));
        var failed = receiver.Requests.Single(r => r.Json.GetProperty("kind").GetString() == "node.failed");
        Assert.IsTrue(failed.SignedWith(secret), failed.Header("X-Hawser-Signature"));
        Assert.AreEqual("web4", failed.Json.GetProperty("node").GetString());
        StringAssert.Contains(failed.Text, "sysctl:net.ipv4.tcp_fin_timeout");

        await fleet.Agents[1].DisposeAsync();

        Assert.IsTrue(await Poll.UntilAsync(() => receiver.Requests.Any(r => r.Json.GetProperty("kind").GetString() == "node.offline"), TimeSpan.FromSeconds(60)));
        // One for the disconnect: web3 reports twice more (the offline check runs every 0.6 s meanwhile), and web4 is not said again.
        await WaitForReportsAsync(fleet, "web3", rounds: 2);
        var offline = receiver.Requests.Where(r => r.Json.GetProperty("kind").GetString() == "node.offline").ToList();
        Assert.HasCount(1, offline, string.Join("\n", offline.Select(r => r.Text)));
        Assert.AreEqual("web4", offline[0].Json.GetProperty("node").GetString());
        Assert.AreEqual("warning", offline[0].Json.GetProperty("severity").GetString());
        StringAssert.Contains(offline[0].Json.GetProperty("summary").GetString(), "node web4 has not been connected since ");
    }

    private static async Task WaitForReportsAsync(AgentFleet fleet, string node, int rounds)
    {
        async Task<DateTimeOffset> LastSeenAsync()
        {
            var status = await fleet.CtlAsync("status", "-o", "json");
            return System.Text.Json.JsonDocument.Parse(status.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray()
                .Single(n => n.GetProperty("name").GetString() == node).GetProperty("lastSeen").GetDateTimeOffset();
        }
        for (var round = 0; round < rounds; round++)
        {
            var seen = await LastSeenAsync();
            Assert.IsTrue(await Poll.UntilAsync(async () => await LastSeenAsync() > seen, TimeSpan.FromSeconds(60)), $"{node} did not report again");
        }
    }
}
