using System.Text.Json;
using System.Text.RegularExpressions;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Every change has an outcome: hawserctl apply waits for the changed nodes' reports and ends with a recap
/// and an exit code (0 converged, 1 failed, 4 no report in time); --no-wait does not wait; status --check says
/// whether the fleet is in sync.
/// </summary>
[TestClass]
public sealed class OutcomeTests
{
    // web4 lacks net.ipv4.tcp_fin_timeout (RolloutScenario): revision V2 fails there alone.
    private static readonly string[] Nodes = ["web3", "web4"];

    [TestMethod]
    public async Task Apply_waits_for_each_changed_node_and_exits_1_when_one_fails_4_when_one_does_not_report_and_0_at_once_with_no_wait()
    {
        await using var fleet = await AgentFleet.StartAsync(Nodes, RolloutScenario.PrepareHost);

        var failing = await fleet.ApplyAsync("v2.yaml", RolloutScenario.V2);

        Assert.AreEqual(1, failing.ExitCode, failing.Output);
        StringAssert.Contains(failing.StandardOutput, "waiting for 2 node(s) to report revision 1");
        // In a pipe, a line per node as it finishes; the recap follows.
        StringAssert.Matches(failing.StandardOutput, new Regex(@"^web4: failed \(ok=\d+ changed=\d+ failed=[1-9]\d*\)$", RegexOptions.Multiline));
        // web3 converged: its line says what the revision changed there, even when the agent's next round (1 s
        // converge interval, nothing left to change) reported before hawserctl looked.
        StringAssert.Matches(failing.StandardOutput, new Regex(@"^web3: changed \(ok=\d+ changed=[1-9]\d* failed=0\)$", RegexOptions.Multiline));
        StringAssert.Matches(failing.StandardOutput, new Regex(@"web3 : ok=\d+ changed=[1-9]\d* failed=0 unreachable=0\n"));
        var converged = await fleet.CtlAsync("events", "--node", "web3", "--kind", "node", "-o", "json");
        Assert.IsTrue(JsonDocument.Parse(converged.StandardOutput).RootElement.GetProperty("events").EnumerateArray()
            .Any(e => e.GetProperty("kind").GetString() == "node.converged"), converged.StandardOutput);
        StringAssert.Matches(failing.StandardOutput, new Regex(@"web4 : ok=\d+ changed=\d+ failed=[1-9]\d* unreachable=0\n    sysctl:net.ipv4.tcp_fin_timeout: "));
        Assert.AreEqual(1, (await fleet.CtlAsync("status", "--check")).ExitCode, "status --check: web4 failed");
        var json = await fleet.CtlAsync("events", "--node", "web4", "--kind", "node", "-o", "json");
        var failed = JsonDocument.Parse(json.StandardOutput).RootElement.GetProperty("events").EnumerateArray().Single(e => e.GetProperty("kind").GetString() == "node.failed");
        StringAssert.Contains(string.Join("\n", failed.GetProperty("details").EnumerateArray().Select(d => d.GetString())), "sysctl:net.ipv4.tcp_fin_timeout failed: ", json.StandardOutput);

        // web4's agent stops: its report never comes, and the wait ends at the timeout with exit 4.
        await fleet.Agents[1].DisposeAsync();
        var silent = await fleet.ApplyAsync("v2-good.yaml", RolloutScenario.V2Good, "--wait-timeout", "2s");

        Assert.AreEqual(4, silent.ExitCode, silent.Output);
        StringAssert.Matches(silent.StandardOutput, new Regex(@"web3 : ok=\d+ changed=[1-9]\d* failed=0 unreachable=0\n"));
        StringAssert.Contains(silent.StandardOutput, "web4 : ok=0 changed=0 failed=0 unreachable=1\n    not connected; it gets revision 2 when it connects\n");

        var noWait = await fleet.ApplyAsync("v1.yaml", RolloutScenario.V1, "--no-wait");

        Assert.AreEqual(0, noWait.ExitCode, noWait.Output);
        StringAssert.Contains(noWait.StandardOutput, "revision 3 stored; pushed to web3");
        Assert.DoesNotContain("RECAP", noWait.StandardOutput);
        Assert.DoesNotContain("waiting for", noWait.StandardOutput);
        Assert.AreEqual(4, (await fleet.CtlAsync("status", "--check")).ExitCode, "status --check: web4 is offline");
    }

    [TestMethod]
    public async Task On_a_terminal_apply_shows_a_live_table_and_ends_with_the_recap()
    {
        await using var fleet = await AgentFleet.StartAsync(["web3"], RolloutScenario.PrepareHost);
        var spec = Path.Combine(fleet.Data.Path, "v1.yaml");
        File.WriteAllText(spec, RolloutScenario.V1);
        // script(1) gives hawserctl a pseudo-terminal, as an operator's shell does; -e passes its exit code on.
        var command = $"dotnet {HawserProcesses.DllPath("hawserctl")} --config {fleet.Controller.CtlConfig} apply -f {spec}";

        var run = await ExternalProcess.RunAsync("script", ["-qec", command, "/dev/null"], TimeSpan.FromSeconds(120),
            environment: new Dictionary<string, string> { ["TERM"] = "xterm-256color", ["COLUMNS"] = "120", ["LINES"] = "40" });

        Assert.AreEqual(0, run.ExitCode, run.Output);
        var screen = Regex.Replace(run.StandardOutput, @"\x1b\[[0-9;?]*[A-Za-z]", "");
        StringAssert.Contains(screen, "PROGRESS", "the live table's header\n" + screen);
        StringAssert.Matches(screen, new Regex(@"web3\s+changed\s+ok=\d+ changed=[1-9]\d* failed=0"), "the table's row, finished\n" + screen);
        StringAssert.Matches(screen, new Regex(@"RECAP revision 1\s+web3 : ok=\d+ changed=[1-9]\d* failed=0 unreachable=0"), screen);
    }
}
