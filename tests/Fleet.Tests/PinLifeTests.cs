using System.Globalization;
using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Issue 29, item 1: pins have a clear life. An aborted or finished rollout leaves no pin that holds a node on what the
/// newest revision already gives it, a plain apply brings every node to the newest revision, a node whose state equals a
/// revision counts as converged to it, and status never shows desired below applied.
/// </summary>
[TestClass]
public sealed class PinLifeTests
{
    private static readonly string[] Nodes = ["web1", "web2", "web3"];

    private static string Spec(int keepalive) =>
        "apiVersion: hawser/v1\nnodes:\n" + string.Concat(Nodes.Select(n => $"  {n}: {{labels: {{role: web}}}}\n"))
        + $"profiles:\n  web:\n    selector: {{role: web}}\n    sysctls: {{net.ipv4.tcp_keepalive_time: \"{keepalive}\"}}\n";

    private static ulong RolloutId(ProcessResult apply)
    {
        Assert.AreEqual(0, apply.ExitCode, apply.Output);
        return JsonDocument.Parse(apply.StandardOutput).RootElement.GetProperty("rolloutId").GetUInt64();
    }

    private static string NodeState(JsonElement rollout, string node) =>
        rollout.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("node").GetString() == node).GetProperty("state").GetString()!;

    /// <summary>
    /// A fleet with 400 applied (revision 1), then 500 (revision 2) rolled out in batches of one and aborted once web1
    /// moved: web1 runs 500, web2 and web3 still 400.
    /// </summary>
    private static async Task<AgentFleet> StartAbortedAsync()
    {
        var fleet = await AgentFleet.StartAsync(Nodes, RolloutScenario.PrepareHost);
        try
        {
            Assert.AreEqual(0, (await fleet.ApplyAsync("v1.yaml", Spec(400))).ExitCode);
            await fleet.WaitAppliedAsync(1);
            var id = RolloutId(await fleet.ApplyAsync("v2.yaml", Spec(500), "--rollout", "--batch", "1", "--pause", "10m", "-o", "json"));
            await fleet.WaitRolloutAsync(id, r => NodeState(r, "web1") == "healthy", "web1 healthy");
            var aborted = await fleet.CtlAsync("rollout", "abort", id.ToString(CultureInfo.InvariantCulture));
            Assert.AreEqual(0, aborted.ExitCode, aborted.Output);
            await fleet.WaitRolloutAsync(id, r => r.GetProperty("state").GetString() == "aborted", "aborted");
            Assert.AreEqual("500", fleet.Hosts[0].ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim());
            Assert.AreEqual("400", fleet.Hosts[1].ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim());
            return fleet;
        }
        catch
        {
            // A fleet that did not get there is stopped here: its agents and namespaces must not outlive the test.
            await fleet.DisposeAsync();
            throw;
        }
    }

    /// <summary>Status as JSON: each node's state, applied, desired and pin (0: none).</summary>
    private static async Task<List<(string Node, string State, ulong Applied, ulong Desired, ulong Pin)>> StatusAsync(AgentFleet fleet)
    {
        var status = await fleet.CtlAsync("status", "-o", "json");
        Assert.AreEqual(0, status.ExitCode, status.Output);
        return [.. JsonDocument.Parse(status.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray().Select(n => (
            n.GetProperty("name").GetString()!, n.GetProperty("state").GetString()!, n.GetProperty("appliedRevision").GetUInt64(),
            n.GetProperty("desiredRevision").GetUInt64(),
            n.TryGetProperty("pinnedRevision", out var pin) && pin.ValueKind == JsonValueKind.Number ? pin.GetUInt64() : 0UL))];
    }

    /// <summary>Waits until every node is in sync with no pin, and returns status's table.</summary>
    private static async Task<string> WaitAllInSyncUnpinnedAsync(AgentFleet fleet, string what)
    {
        List<(string Node, string State, ulong Applied, ulong Desired, ulong Pin)> nodes = [];
        var settled = await Poll.UntilAsync(async () => (nodes = await StatusAsync(fleet)).All(n => n.State == "in-sync" && n.Pin == 0 && n.Applied == n.Desired),
            TimeSpan.FromSeconds(60));
        Assert.IsTrue(settled, $"{what}: {string.Join("; ", nodes)}\n{fleet.Diagnostics()}");
        return (await fleet.CtlAsync("status")).StandardOutput;
    }

    [TestMethod]
    public async Task After_an_abort_a_plain_apply_of_the_old_content_brings_every_node_to_it_and_leaves_no_pin()
    {
        await using var fleet = await StartAbortedAsync();

        var applied = await fleet.ApplyAsync("v3.yaml", Spec(400));

        Assert.AreEqual(0, applied.ExitCode, applied.Output + fleet.Diagnostics());
        Assert.DoesNotContain("no report of revision", applied.StandardOutput, applied.Output);
        foreach (var host in fleet.Hosts)
        {
            Assert.AreEqual("400", host.ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim(), "every node runs the newest revision");
        }
        var table = await WaitAllInSyncUnpinnedAsync(fleet, "after the plain apply");
        Assert.DoesNotContain("pinned", table);
        var again = await fleet.ApplyAsync("v3.yaml", Spec(400));
        Assert.AreEqual(0, again.ExitCode, again.Output);
        StringAssert.Contains(again.StandardOutput, "unchanged");
        Assert.AreEqual(0, (await fleet.CtlAsync("status", "--check")).ExitCode);

        // Item 13: a rollout that cannot start stores nothing.
        var refused = await fleet.ApplyAsync("v4.yaml", Spec(450), "--rollout", "--check", "http://{address}:8080/health");
        Assert.AreEqual(1, refused.ExitCode, refused.Output);
        StringAssert.Contains(refused.StandardError, "rollout: check 'http://{address}:8080/health' uses {address}, but these nodes have no 'address' label: web1, web2, web3; nothing stored");
        var revisions = await fleet.CtlAsync("revisions", "-o", "json");
        var newest = JsonDocument.Parse(revisions.StandardOutput).RootElement.GetProperty("revisions").EnumerateArray().Max(r => r.GetProperty("number").GetUInt64());
        Assert.AreEqual(3UL, newest, revisions.Output);
    }

    [TestMethod]
    public async Task A_rollout_of_what_the_unmoved_nodes_already_run_passes_their_gates_and_a_finished_rollout_leaves_no_pin()
    {
        await using var fleet = await StartAbortedAsync();

        // Revision 3 is revision 1's content: web2 and web3 already run it, web1 goes back to 400.
        var id = RolloutId(await fleet.ApplyAsync("v3.yaml", Spec(400), "--rollout", "--batch", "1", "-o", "json"));
        var done = await fleet.WaitRolloutAsync(id, r => r.GetProperty("state").GetString() is "done" or "paused" or "rolled-back", "finished");

        Assert.AreEqual("done", done.GetProperty("state").GetString(), done.ToString());
        foreach (var host in fleet.Hosts)
        {
            Assert.AreEqual("400", host.ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim());
        }
        var table = await WaitAllInSyncUnpinnedAsync(fleet, "after the finished rollout");
        Assert.DoesNotContain("pinned", table);

        // A finished rollout of a new revision: every node on it, none pinned, desired never below applied.
        var next = RolloutId(await fleet.ApplyAsync("v4.yaml", Spec(450), "--rollout", "--batch", "2", "-o", "json"));
        await fleet.WaitRolloutAsync(next, r => r.GetProperty("state").GetString() == "done", "done");
        table = await WaitAllInSyncUnpinnedAsync(fleet, "after the second rollout");
        Assert.IsTrue((await StatusAsync(fleet)).All(n => n.Applied == 4), table);
    }
}
