using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Issue 7's rollout engine with a real controller and five real agents (each with its own root and
/// /proc/sys directory): batches, the failure policies, the HTTP gate, and a restart mid-rollout.
/// </summary>
[TestClass]
public sealed class RolloutTests
{
    private static readonly string[] Nodes = RolloutScenario.Nodes;

    private static ulong RolloutId(ProcessResult apply)
    {
        Assert.AreEqual(0, apply.ExitCode, apply.Output);
        return JsonDocument.Parse(apply.StandardOutput).RootElement.GetProperty("rolloutId").GetUInt64();
    }

    private static string NodeState(JsonElement rollout, string node) => RolloutNode(rollout, node).GetProperty("state").GetString()!;

    private static string NodeDetail(JsonElement rollout, string node) => RolloutNode(rollout, node).GetProperty("detail").GetString()!;

    private static JsonElement RolloutNode(JsonElement rollout, string node) =>
        rollout.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("node").GetString() == node);

    /// <summary>How many converges of revision 2 with a failure <paramref name="agent"/> has logged (each one is a report).</summary>
    private static int Reports(AgentProcess agent) =>
        agent.Output.Split('\n').Count(l => l.Contains("] converged revision 2:", StringComparison.Ordinal) && l.Contains(" failed:", StringComparison.Ordinal));

    [TestMethod]
    public async Task A_revision_that_fails_on_one_node_is_rolled_back_and_every_moved_node_is_as_before()
    {
        await using var fleet = await AgentFleet.StartAsync(Nodes, RolloutScenario.PrepareHost);
        Assert.AreEqual(0, (await fleet.ApplyAsync("v1.yaml", RolloutScenario.V1)).ExitCode);
        await fleet.WaitAppliedAsync(1);
        var before = fleet.Snapshot();

        var id = RolloutId(await fleet.ApplyAsync("v2.yaml", RolloutScenario.V2, "--rollout", "--batch", "2", "--on-failure", "rollback", "-o", "json"));
        var watched = await fleet.CtlAsync("rollout", "status", "--watch");

        Assert.AreEqual(1, watched.ExitCode, "a rolled-back rollout is not a success\n" + watched.Output);
        StringAssert.Contains(watched.StandardOutput, "rolled-back");
        StringAssert.Contains(watched.StandardOutput, "web4: returned (failed: sysctl:net.ipv4.tcp_fin_timeout net.ipv4.tcp_fin_timeout does not exist here");
        // Every progress line has its time; the final state comes after the last node's line; the reason is not repeated.
        var lines = watched.StandardOutput.Split('\n');
        var progress = lines.TakeWhile(l => !l.StartsWith("rollout ", StringComparison.Ordinal)).Where(l => l.Length > 0).ToList();
        Assert.IsTrue(progress.Count > 0 && progress.All(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\d\d:\d\d:\d\dZ ")), watched.StandardOutput);
        var final = progress.FindIndex(l => l.Contains(": rolled-back, batch ", StringComparison.Ordinal));
        Assert.IsTrue(final >= 0 && final > progress.FindLastIndex(l => l.Contains("  web", StringComparison.Ordinal)), "rolled-back is printed after the last node's line\n" + watched.StandardOutput);
        StringAssert.Contains(watched.StandardOutput, "rolled-back, batch 2 of 3");
        Assert.AreEqual(1, System.Text.RegularExpressions.Regex.Count(watched.StandardOutput, "every moved node is back on its previous revision"), watched.StandardOutput);
        var rollout = await fleet.WaitRolloutAsync(id, r => r.GetProperty("state").GetString() == "rolled-back", "rolled back");
        StringAssert.Contains(rollout.GetProperty("reason").GetString(), "1 node(s) failed, more than the 0 allowed: web4:");
        foreach (var node in new[] { "web1", "web2", "web3", "web4" })
        {
            Assert.AreEqual("returned", NodeState(rollout, node), node);
        }
        Assert.AreEqual("pending", NodeState(rollout, "web5"), "the last batch was never moved");
        // Every node runs what it should after the rollback: none is "pending", and the CLI says which are pinned.
        var status = await fleet.CtlAsync("status", "-o", "json");
        var nodes = JsonDocument.Parse(status.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray().ToList();
        var table = await fleet.CtlAsync("status");
        Assert.IsTrue(nodes.All(n => n.GetProperty("state").GetString() is "in-sync" or "failed"), status.Output);
        Assert.IsTrue(nodes.Any(n => n.TryGetProperty("pinnedRevision", out var pin) && pin.ValueKind == JsonValueKind.Number && pin.GetUInt64() == 1), status.Output);
        StringAssert.Contains(table.StandardOutput, "pinned 1");
        Assert.DoesNotContain("pending", table.StandardOutput);
        var after = fleet.Snapshot();
        for (var i = 0; i < Nodes.Length; i++)
        {
            var changed = before[i].Keys.Union(after[i].Keys).Where(k => before[i].GetValueOrDefault(k) != after[i].GetValueOrDefault(k)).ToList();
            Assert.IsEmpty(changed, $"{Nodes[i]}: every file is as before the rollout, the kernel values included\n{fleet.Diagnostics()}");
        }
        Assert.AreEqual("600", fleet.Hosts[0].ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim());
        Assert.AreEqual("60", fleet.Hosts[0].ReadFile("/proc-sys/net/ipv4/tcp_fin_timeout").Trim(), "a key only revision 2 set is put back, not merely left");
    }

    [TestMethod]
    public async Task With_pause_the_rollout_waits_at_the_failure_and_continues_on_resume()
    {
        await using var fleet = await AgentFleet.StartAsync(Nodes, RolloutScenario.PrepareHost);
        Assert.AreEqual(0, (await fleet.ApplyAsync("v1.yaml", RolloutScenario.V1)).ExitCode);
        await fleet.WaitAppliedAsync(1);

        var id = RolloutId(await fleet.ApplyAsync("v2.yaml", RolloutScenario.V2, "--rollout", "--batch", "2", "-o", "json"));
        var paused = await fleet.WaitRolloutAsync(id, r => r.GetProperty("state").GetString() == "paused", "paused at the failure");
        StringAssert.Contains(paused.GetProperty("reason").GetString(), "web4:");
        StringAssert.Contains(paused.GetProperty("reason").GetString(), "resume, roll back or abort");
        // Every report wakes the engine: two more from the failing node mean it looked again and still waits.
        var web4 = fleet.Agents.Single(a => a.Node == "web4");
        var reports = Reports(web4);
        await Poll.UntilAsync(() => Reports(web4) >= reports + 2, TimeSpan.FromSeconds(30));
        var still = await fleet.WaitRolloutAsync(id, _ => true, "read");
        Assert.AreEqual("paused", still.GetProperty("state").GetString(), "it waits for the operator");
        Assert.AreEqual("pending", NodeState(still, "web5"));
        var plain = await fleet.ApplyAsync("v3.yaml", RolloutScenario.V1 + "# another\n");
        Assert.AreEqual(1, plain.ExitCode, "a plain apply does not overtake a rollout");
        StringAssert.Contains(plain.StandardError, $"rollout {id} is paused");

        var resumed = await fleet.CtlAsync("rollout", "resume", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.AreEqual(0, resumed.ExitCode, resumed.Output);
        var watched = await fleet.CtlAsync("rollout", "status", "--watch");

        // Done, but web4 failed its revision (the failure was accepted, not undone): the recap names it and the exit code says so.
        Assert.AreEqual(1, watched.ExitCode, watched.Output + fleet.Diagnostics());
        StringAssert.Matches(watched.StandardOutput, new System.Text.RegularExpressions.Regex(@"web4 : ok=[1-9]\d* changed=\d+ failed=1 unreachable=0\n    sysctl:net.ipv4.tcp_fin_timeout"));
        StringAssert.Matches(watched.StandardOutput, new System.Text.RegularExpressions.Regex(@"web5 : ok=\d+ changed=\d+ failed=0 unreachable=0\n"));
        // web1 moved in the first batch and has reported in-sync drift checks since (every second while the rollout
        // waited): its line is still what revision 2 changed there.
        StringAssert.Matches(watched.StandardOutput, new System.Text.RegularExpressions.Regex(@"web1 : ok=\d+ changed=[1-9]\d* failed=0 unreachable=0\n"));
        var done = await fleet.WaitRolloutAsync(id, r => r.GetProperty("state").GetString() == "done", "done");
        Assert.AreEqual("healthy", NodeState(done, "web5"));
        Assert.AreEqual("failed", NodeState(done, "web4"), "the failure stays on record");
        Assert.AreEqual("610", fleet.Hosts[4].ReadFile("/proc-sys/net/ipv4/tcp_keepalive_time").Trim());

        // Bad requests are refused with every reason, and start nothing.
        foreach (var (arguments, reason) in new (string[], string)[]
        {
            (["start", "99"], "revision 99 does not exist"),
            (["start", "2", "--selector", "role=db"], "no enrolled node that revision 2 names matches the selector 'role=db'"),
            (["pause", id.ToString(System.Globalization.CultureInfo.InvariantCulture)], $"rollout {id} is done; it cannot pause now"),
        })
        {
            var refused = await fleet.CtlAsync(["rollout", .. arguments]);
            Assert.AreEqual(1, refused.ExitCode, refused.Output);
            StringAssert.Contains(refused.StandardError, reason);
        }
        // A bad option value is a bad command line, whichever option it is (issue 29, item 15): exit 64, one error each.
        foreach (var (arguments, reason) in new (string[], string)[]
        {
            (["start", "2", "--batch", "0"], "--batch '0' is not a count or a percentage of at least 1"),
            (["start", "2", "--max-failures", "lots"], "--max-failures 'lots' is not a count or a percentage"),
            (["start", "2", "--on-failure", "explode"], "explode"),
            (["start", "2", "--pause", "5"], "--pause '5' has no unit"),
        })
        {
            var refused = await fleet.CtlAsync(["rollout", .. arguments]);
            Assert.AreEqual(64, refused.ExitCode, refused.Output);
            StringAssert.Contains(refused.StandardError, reason);
            Assert.AreEqual(1, refused.StandardError.Split('\n').Count(l => l.StartsWith("error:", StringComparison.Ordinal)), refused.Output);
        }
        var listed = await fleet.CtlAsync("rollout", "list", "-o", "json");
        Assert.AreEqual(1, System.Text.Json.JsonDocument.Parse(listed.StandardOutput).RootElement.GetProperty("rollouts").GetArrayLength(), "nothing else was started");
    }

    [TestMethod]
    public async Task A_controller_killed_mid_rollout_resumes_and_moves_each_node_once()
    {
        await using var fleet = await AgentFleet.StartAsync(Nodes, RolloutScenario.PrepareHost);
        Assert.AreEqual(0, (await fleet.ApplyAsync("v1.yaml", RolloutScenario.V1)).ExitCode);
        await fleet.WaitAppliedAsync(1);

        var id = RolloutId(await fleet.ApplyAsync("v2.yaml", RolloutScenario.V2Good, "--rollout", "--batch", "1", "--pause", "2s", "-o", "json"));
        await fleet.WaitRolloutAsync(id, r => NodeState(r, "web2") == "healthy", "two batches moved");
        await fleet.RestartControllerAsync(kill: true);

        var done = await fleet.WaitRolloutAsync(id, r => r.GetProperty("state").GetString() == "done", "done after the restart", seconds: 90);

        Assert.IsTrue(done.GetProperty("nodes").EnumerateArray().All(n => n.GetProperty("state").GetString() == "healthy"), done.ToString());
        StringAssert.Contains(string.Join("\n", fleet.Controller.Log), $"rollout {id}: resumed after restart");
        foreach (var agent in fleet.Agents)
        {
            var converged = agent.Output.Split('\n').Count(l => l.Contains("] converged revision 2:", StringComparison.Ordinal));
            Assert.AreEqual(1, converged, $"{agent.Node} applied revision 2 once\n{agent.Output}");
        }
    }

    [TestMethod]
    public async Task A_failing_HTTP_check_holds_the_batch_and_stops_the_rollout()
    {
        await using var fleet = await AgentFleet.StartAsync(Nodes, RolloutScenario.PrepareHost);
        Assert.AreEqual(0, (await fleet.ApplyAsync("v1.yaml", RolloutScenario.V1)).ExitCode);
        await fleet.WaitAppliedAsync(1);
        var port = FreePorts.Tcp();
        // Each node's service answers on its address: web3's is unhealthy, web4's never answers.
        var services = Nodes.Select((n, i) => new IPEndPoint(IPAddress.Parse($"127.0.6.{i + 1}"), port))
            .Select<IPEndPoint, IDisposable>((endpoint, i) => Nodes[i] == "web4" ? new SilentServer(endpoint) : HttpStatusServer.Start(endpoint, Nodes[i] == "web3" ? 503 : 200)).ToList();
        try
        {
            var id = RolloutId(await fleet.ApplyAsync("v2.yaml", RolloutScenario.V2Good, "--rollout", "--batch", "2", "--check", $"http://{{address}}:{port}/health",
                "--hold", "1s", "--check-timeout", "1s", "--gate-timeout", "4s", "-o", "json"));

            var paused = await fleet.WaitRolloutAsync(id, r => r.GetProperty("state").GetString() == "paused", "stopped by the check");

            Assert.AreEqual("healthy", NodeState(paused, "web1"), "web1's check passed and held");
            Assert.AreEqual("failed", NodeState(paused, "web3"));
            StringAssert.Contains(paused.GetProperty("reason").GetString(), $"web3: check http://127.0.6.3:{port}/health: HTTP 503, expected (2|3)[0-9][0-9]");
            StringAssert.Contains(NodeDetail(paused, "web4"), $"check http://127.0.6.4:{port}/health: no answer within 1s", "the check's own timeout");
            Assert.AreEqual("pending", NodeState(paused, "web5"), "no batch after the failing one moved");
            Assert.IsGreaterThan(0, ((HttpStatusServer)services[0]).Requests, "the check asked web1's service");

            // Rolled back: web3's check fails on revision 1 too. Its line says so once, and its recap counts what it applied (issue 29, item 12).
            Assert.AreEqual(0, (await fleet.CtlAsync("rollout", "rollback", id.ToString(System.Globalization.CultureInfo.InvariantCulture))).ExitCode);
            var watched = await fleet.CtlAsync("rollout", "status", "--watch");
            Assert.AreEqual(1, watched.ExitCode, watched.Output);
            var check = $"check http://127.0.6.3:{port}/health: HTTP 503, expected (2|3)[0-9][0-9]";
            StringAssert.Contains(watched.StandardOutput, $"web3: returned (failed: {check}; did not return cleanly: the same on revision 1)", watched.Output);
            Assert.AreEqual(1, System.Text.RegularExpressions.Regex.Count(watched.StandardOutput.Split("RECAP")[0].Split('\n').Last(l => l.Contains("web3: returned", StringComparison.Ordinal)),
                System.Text.RegularExpressions.Regex.Escape(check)), "the check's text once");
            StringAssert.Matches(watched.StandardOutput, new System.Text.RegularExpressions.Regex(@"web3 : ok=[1-9]\d* changed=\d+ failed=1 unreachable=0\n"), watched.Output);
        }
        finally
        {
            foreach (var service in services)
            {
                service.Dispose();
            }
        }
    }

    [TestMethod]
    public async Task Watch_counts_down_the_pause_between_batches_and_ends_with_done_after_the_last_node()
    {
        await using var fleet = await AgentFleet.StartAsync(Nodes, RolloutScenario.PrepareHost);
        Assert.AreEqual(0, (await fleet.ApplyAsync("v1.yaml", RolloutScenario.V1)).ExitCode);
        await fleet.WaitAppliedAsync(1);

        // A pause far longer than any start-up on a loaded machine: the watch sees it, then a promote ends it.
        var id = RolloutId(await fleet.ApplyAsync("v2.yaml", RolloutScenario.V2Good, "--rollout", "--batch", "3", "--pause", "10m", "-o", "json"));
        using var watch = HawserProcesses.Start("hawserctl", ["--config", fleet.Controller.CtlConfig, "rollout", "status", "--watch"]);
        var stderr = watch.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        var countdown = new System.Text.RegularExpressions.Regex(@"^\d\d:\d\d:\d\dZ   next batch in \d+m\d*s?$");
        while (await watch.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)) is { } line)
        {
            lines.Add(line);
            if (countdown.IsMatch(line))
            {
                break;
            }
        }
        Assert.IsTrue(lines.Count > 0 && countdown.IsMatch(lines[^1]), "a countdown while the pause runs\n" + string.Join("\n", lines));
        // Someone pauses it: the watch says so and goes on following it (issue 29, item 10).
        Assert.AreEqual(0, (await fleet.CtlAsync("rollout", "pause", id.ToString(System.Globalization.CultureInfo.InvariantCulture))).ExitCode);
        while (await watch.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)) is { } line)
        {
            lines.Add(line);
            if (line.Contains("still watching: it goes on when resumed", StringComparison.Ordinal))
            {
                break;
            }
        }
        Assert.IsTrue(lines.Any(l => l.Contains($"rollout {id}: paused", StringComparison.Ordinal)), string.Join("\n", lines));
        Assert.AreEqual(0, (await fleet.CtlAsync("rollout", "resume", id.ToString(System.Globalization.CultureInfo.InvariantCulture))).ExitCode);
        Assert.AreEqual(0, (await fleet.CtlAsync("rollout", "promote", id.ToString(System.Globalization.CultureInfo.InvariantCulture))).ExitCode);
        lines.AddRange((await watch.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(120))).Split('\n'));
        await watch.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var output = string.Join("\n", lines) + "\n" + await stderr;

        Assert.AreEqual(0, watch.ExitCode, output);
        var progress = lines.TakeWhile(l => !l.StartsWith("rollout ", StringComparison.Ordinal)).Where(l => l.Length > 0).ToList();
        Assert.IsTrue(progress[^1].Contains(": done, batch 2 of 2", StringComparison.Ordinal), "done is the last line of the progress\n" + output);
        Assert.DoesNotContain("next batch at", output, "a finished rollout has no next batch");
    }

    [TestMethod]
    public async Task Pause_takes_effect_while_an_HTTP_check_is_still_waiting_for_an_answer()
    {
        await using var fleet = await AgentFleet.StartAsync(Nodes, RolloutScenario.PrepareHost);
        Assert.AreEqual(0, (await fleet.ApplyAsync("v1.yaml", RolloutScenario.V1)).ExitCode);
        await fleet.WaitAppliedAsync(1);
        var port = FreePorts.Tcp();
        using var service = new SilentServer(new IPEndPoint(IPAddress.Parse("127.0.6.9"), port));
        var id = RolloutId(await fleet.ApplyAsync("v2.yaml", RolloutScenario.V2Good, "--rollout", "--batch", "2", "--check", $"http://127.0.6.9:{port}/health", "--check-timeout", "10m", "-o", "json"));
        await service.RequestArrived.WaitAsync(TimeSpan.FromSeconds(60));

        var paused = await fleet.CtlAsync("rollout", "pause", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var checkStillWaiting = !service.ClientGaveUp.IsCompleted;

        Assert.AreEqual(0, paused.ExitCode, paused.Output);
        Assert.IsTrue(checkStillWaiting, "the pause waited for the HTTP check (10 minutes) to give up");
        var rollout = await fleet.WaitRolloutAsync(id, r => r.GetProperty("state").GetString() == "paused", "paused");
        Assert.AreEqual("paused by the operator", rollout.GetProperty("reason").GetString());
    }

    /// <summary>An HTTP server that reads a request and never answers, and says when the client gave up.</summary>
    private sealed class SilentServer : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _gaveUp = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SilentServer(IPEndPoint endpoint)
        {
            _listener = new TcpListener(endpoint);
            _listener.Start();
            _ = ServeAsync();
        }

        public Task RequestArrived => _arrived.Task;

        public Task ClientGaveUp => _gaveUp.Task;

        private async Task ServeAsync()
        {
            try
            {
                using var client = await _listener.AcceptTcpClientAsync();
                var stream = client.GetStream();
                var buffer = new byte[4096];
                _ = await stream.ReadAsync(buffer);
                _arrived.TrySetResult();
                while (await stream.ReadAsync(buffer) > 0)
                {
                }
                _gaveUp.TrySetResult();
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException or IOException)
            {
                _gaveUp.TrySetResult();
            }
        }

        public void Dispose() => _listener.Stop();
    }

    /// <summary>A minimal HTTP server answering every request with one status (a node's service behind a health check).</summary>
    private sealed class HttpStatusServer : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private int _requests;

        private HttpStatusServer(IPEndPoint endpoint, int status)
        {
            _listener = new TcpListener(endpoint);
            _listener.Start();
            _ = ServeAsync(status);
        }

        public int Requests => _requests;

        public static HttpStatusServer Start(IPEndPoint endpoint, int status) => new(endpoint, status);

        private async Task ServeAsync(int status)
        {
            try
            {
                while (true)
                {
                    using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    var stream = client.GetStream();
                    var buffer = new byte[4096];
                    var read = 0;
                    while (read < buffer.Length && !Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var n = await stream.ReadAsync(buffer.AsMemory(read), _stop.Token);
                        if (n == 0)
                        {
                            break;
                        }
                        read += n;
                    }
                    Interlocked.Increment(ref _requests);
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), _stop.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
            {
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}
