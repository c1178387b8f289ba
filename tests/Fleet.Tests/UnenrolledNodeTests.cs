using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Issue 29, item 4: a node the spec names but nobody enrolled (a typo, a host not joined yet) or that was removed is shown
/// by apply and status, with a near-miss suggestion, and status --check is not 0 while it is.
/// </summary>
[TestClass]
public sealed class UnenrolledNodeTests
{
    private static readonly string[] Nodes = ["web3", "web4"];

    private static string Spec(params string[] nodes) =>
        "apiVersion: hawser/v1\nnodes:\n" + string.Concat(nodes.Select(n => $"  {n}: {{sysctls: {{net.ipv4.tcp_keepalive_time: \"600\"}}}}\n"));

    [TestMethod]
    public async Task A_typo_a_host_not_joined_and_a_removed_node_are_each_named_by_apply_and_status_and_fail_the_check()
    {
        await using var fleet = await AgentFleet.StartAsync(Nodes, RolloutScenario.PrepareHost);
        Assert.AreEqual(0, (await fleet.ApplyAsync("v1.yaml", Spec("web3", "web4"))).ExitCode);
        Assert.AreEqual(0, (await fleet.CtlAsync("status", "--check")).ExitCode, "every named node enrolled and in sync");

        var applied = await fleet.ApplyAsync("v2.yaml", Spec("web3", "web4", "wbe4", "db1"));

        Assert.AreEqual(0, applied.ExitCode, applied.Output);
        StringAssert.Contains(applied.StandardOutput, "wbe4: named by the spec but not enrolled (`hawserctl token create` makes a join token); did you mean web4?\n");
        StringAssert.Contains(applied.StandardOutput, "db1: named by the spec but not enrolled (`hawserctl token create` makes a join token)\n");
        var status = await fleet.CtlAsync("status");
        StringAssert.Matches(status.StandardOutput, new System.Text.RegularExpressions.Regex(@"wbe4\s+not enrolled"), status.Output);
        StringAssert.Contains(status.StandardOutput, "wbe4: named by the spec but not enrolled");
        Assert.AreEqual(4, (await fleet.CtlAsync("status", "--check")).ExitCode, "a named node is not enrolled");
        // The web UI shows them too (its overview and nodes page read this), with the same suggestion.
        var pki = Path.Combine(fleet.Controller.DataDirectory, "pki");
        using (var admin = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(Path.Combine(pki, "admin.crt"), Path.Combine(pki, "admin.key")))
        using (var browser = await WebSignInClient.SignInAsync(fleet.Controller, admin, System.Net.IPAddress.Loopback))
        {
            Assert.IsNotNull(browser.Csrf, browser.Refusal);
            var web = JsonDocument.Parse(await browser.Client.GetStringAsync("/api/v1/nodes-unenrolled")).RootElement.EnumerateArray()
                .ToDictionary(u => u.GetProperty("name").GetString()!, u => u.GetProperty("nearest").GetString());
            CollectionAssert.AreEquivalent(new[] { "db1", "wbe4" }, web.Keys.ToArray());
            Assert.AreEqual("web4", web["wbe4"]);
        }

        var removed = await fleet.CtlAsync("node", "remove", "web4");
        Assert.AreEqual(0, removed.ExitCode, removed.Output);
        // Its agent is told so when it comes back, and stops with its own exit code instead of retrying for ever (item 16).
        var web4 = fleet.Agents.Single(a => a.Node == "web4");
        Assert.AreEqual(3, await web4.WaitForExitAsync(TimeSpan.FromSeconds(60)), web4.Output);
        StringAssert.Contains(web4.Output, "stopping: node 'web4' was removed from the controller; the agent stops (enroll it again with a new join token to bring it back)");
        var json = JsonDocument.Parse((await fleet.CtlAsync("status", "-o", "json")).StandardOutput).RootElement.GetProperty("unenrolled");
        var states = json.EnumerateArray().ToDictionary(u => u.GetProperty("name").GetString()!, u => u.GetProperty("state").GetString());
        Assert.AreEqual("removed", states["web4"]);
        Assert.AreEqual("not enrolled", states["wbe4"]);
        Assert.AreEqual("not enrolled", states["db1"]);
        Assert.AreEqual(JsonValueKind.Null, json.EnumerateArray().Single(u => u.GetProperty("name").GetString() == "wbe4").GetProperty("didYouMean").ValueKind,
            "web4 is gone, and web3 is two edits from wbe4: no suggestion");
        StringAssert.Contains((await fleet.CtlAsync("status")).StandardOutput, "web4: removed, but the spec still names it");
    }
}
