using Hawser.Controller.Rollouts;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Tests;

/// <summary>
/// The rollout state machine in process (<see cref="RolloutTransitions"/>): every state against every command and every
/// thing a gate can see, then long random sequences of them with the invariants checked after each. No process, no store.
/// </summary>
[TestClass]
public sealed class RolloutTransitionsTests
{
    private static readonly string[] States = ["running", "paused", "rolling-back", "done", "aborted", "rolled-back"];
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan GateTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Four nodes in two batches of revision 7 (each was on revision 5), one failure allowed.</summary>
    private static RolloutRecord NewRollout(string onFailure = "pause", bool withCheck = false)
    {
        var options = new RolloutSettings
        {
            Batch = "2", MaxFailures = "1", OnFailure = onFailure, GateTimeout = GateTimeout,
            Checks = withCheck ? [new HttpCheckSettings("http://{node}/health")] : [],
        };
        return new RolloutRecord
        {
            Id = 1, Revision = 7, State = RolloutState.Running, Settings = options, Batches = 2,
            Nodes = [.. Enumerable.Range(0, 4).Select(i => new RolloutNodeRecord { Node = $"web{i}", Batch = (uint)(i / 2), State = RolloutNodeState.Pending, PreviousRevision = 5 })],
        };
    }

    /// <summary>The word for a rollout's state, as the API and the event log say it.</summary>
    private static string S(RolloutRecord rollout) => RolloutWords.Of(rollout.State);

    /// <summary>The word for a node's state.</summary>
    private static string S(RolloutNodeRecord node) => RolloutWords.Of(node.State);

    /// <summary>What a node's gate sees: its report of the revision it moves to (failed or not), or nothing yet.</summary>
    private enum Seen { Nothing, Healthy, Failed, Gone }

    private static GateView Gate(string node, Seen seen, ulong revision)
    {
        if (seen == Seen.Gone)
        {
            return GateView.Gone;
        }
        var record = new NodeRecord
        {
            Name = node, Labels = new Dictionary<string, string>(), AgentVersion = "t", FirstSeen = T0, LastSeen = T0,
            DesiredRevision = revision, AppliedRevision = revision,
        };
        if (seen == Seen.Nothing)
        {
            return new GateView(record, null, revision, Connected: true);
        }
        var report = new NodeReport(revision, DryRun: false, T0,
            [new ResourceReport("sysctl", "net.ipv4.x", seen == Seen.Failed ? ResourceOutcome.Failed : ResourceOutcome.InSync, "", seen == Seen.Failed ? "write refused" : "", [])],
            new Dictionary<string, string>(), DesiredStateNew: false);
        return new GateView(record, report, revision, Connected: true);
    }

    /// <summary>Every moving or returning node seen as <paramref name="seen"/>.</summary>
    private static Dictionary<string, GateView> Gates(RolloutRecord rollout, Seen seen) =>
        rollout.Nodes.Where(n => S(n) is "moving" or "returning")
            .ToDictionary(n => n.Node, n => Gate(n.Node, seen, S(n) == "moving" ? rollout.Revision : n.PreviousRevision), StringComparer.Ordinal);

    private static readonly Dictionary<string, string?> NoChecks = [];

    private static RolloutRecord InState(string state)
    {
        var rollout = NewRollout();
        rollout.State = RolloutWords.RolloutStateOf(state);
        if (state is "rolling-back")
        {
            // Something moved to return.
            rollout.Nodes[0].State = RolloutNodeState.Healthy;
        }
        return rollout;
    }

    // state × command: the state after, or null when the command is refused in that state.
    [TestMethod]
    [DataRow("running", "paused", null, "aborted", "running", "rolling-back")]
    [DataRow("paused", null, "running", "aborted", "paused", "rolling-back")]
    [DataRow("rolling-back", null, null, "aborted", null, null)]
    [DataRow("done", null, null, null, null, "rolling-back")]
    [DataRow("aborted", null, null, null, null, null)]
    [DataRow("rolled-back", null, null, null, null, null)]
    public void Each_command_in_each_state(string state, string? pause, string? resume, string? abort, string? promote, string? rollback)
    {
        string?[] expected = [pause, resume, abort, promote, rollback];
        for (var i = 0; i < RolloutTransitions.Commands.Count; i++)
        {
            var command = RolloutTransitions.Commands[i];
            var rollout = InState(state);
            var before = rollout.Copy();
            if (expected[i] is { } after)
            {
                RolloutTransitions.Command(rollout, command);
                Assert.AreEqual(after, S(rollout), $"{state} + {command}");
                Assert.AreEqual(command == "promote", rollout.Promoted, $"{state} + {command}: only promote promotes");
            }
            else
            {
                var refused = Assert.ThrowsExactly<RolloutException>(() => RolloutTransitions.Command(rollout, command), $"{state} + {command}");
                StringAssert.Contains(refused.Message, $"rollout 1 is {state}; it cannot {command} now");
                Assert.AreEqual(before, rollout, $"{state} + {command}: a refused command changes nothing");
            }
        }
        Assert.ThrowsExactly<RolloutException>(() => RolloutTransitions.Command(InState(state), "explode"));
    }

    [TestMethod]
    public void A_step_moves_nothing_in_a_state_the_engine_does_not_drive()
    {
        foreach (var state in States.Where(s => s is not ("running" or "rolling-back")))
        {
            var rollout = InState(state);
            var before = rollout.Copy();
            Assert.IsEmpty(RolloutTransitions.Step(rollout, T0, Gates(rollout, Seen.Healthy), NoChecks), state);
            Assert.AreEqual(before, rollout, $"a step changes nothing while {state}");
        }
    }

    // state × what the gates see: the rollout's state after enough steps for the gates to decide.
    [TestMethod]
    [DataRow("pause", "Healthy", "done", 0)]
    [DataRow("pause", "Failed", "paused", 2)]
    [DataRow("rollback", "Failed", "rolled-back", 2)]
    [DataRow("pause", "Nothing", "running", 0)]
    [DataRow("pause", "Gone", "paused", 2)]
    public void Reports_drive_the_batches(string onFailure, string seenText, string final, int failed)
    {
        var seen = System.Enum.Parse<Seen>(seenText);
        var rollout = NewRollout(onFailure);
        var pins = new List<(string Node, ulong Pin)>();
        for (var step = 0; step < 20; step++)
        {
            // What a returning node sees is its previous revision, reported healthy: the way back works.
            var gates = S(rollout) == "rolling-back" ? Gates(rollout, Seen.Healthy) : Gates(rollout, seen);
            pins.AddRange(RolloutTransitions.Step(rollout, T0, gates, NoChecks));
        }
        Assert.AreEqual(final, S(rollout), rollout.ToString());
        if (final == "done")
        {
            Assert.IsTrue(rollout.Nodes.All(n => S(n) == "healthy"));
            CollectionAssert.AreEquivalent(new[] { "web0", "web1", "web2", "web3" }, pins.Select(p => p.Node).ToArray(), "each node moved once");
            Assert.IsTrue(pins.All(p => p.Pin == 7));
        }
        if (final == "running")
        {
            // Silence is not failure before the gate timeout: the first batch waits.
            Assert.IsTrue(rollout.Nodes.Where(n => n.Batch == 0).All(n => S(n) == "moving"), rollout.ToString());
            Assert.IsTrue(rollout.Nodes.Where(n => n.Batch == 1).All(n => S(n) == "pending"), "the next batch does not move past a waiting gate");
        }
        Assert.AreEqual(failed, rollout.Nodes.Count(n => n.Failure.Length > 0), rollout.ToString());
        if (final == "rolled-back")
        {
            Assert.IsTrue(pins.Where(p => p.Pin != 7).All(p => p.Pin == 5), "a node returns to its previous revision");
            Assert.IsTrue(rollout.Nodes.Where(n => n.Batch == 0).All(n => S(n) == "returned"), rollout.ToString());
        }
    }

    [TestMethod]
    public void Silence_past_the_gate_timeout_fails_the_node_naming_why()
    {
        var rollout = NewRollout();
        RolloutTransitions.Step(rollout, T0, NoGates, NoChecks);
        RolloutTransitions.Step(rollout, T0 + GateTimeout + TimeSpan.FromSeconds(1), Gates(rollout, Seen.Nothing), NoChecks);
        Assert.AreEqual("failed", S(rollout.Nodes[0]));
        Assert.AreEqual("no report of revision 7 within the gate timeout", rollout.Nodes[0].Detail);
    }

    private static readonly Dictionary<string, GateView> NoGates = [];

    [TestMethod]
    public void A_failing_check_holds_the_node_until_the_gate_timeout_then_fails_it_and_a_passing_one_passes_it()
    {
        var rollout = NewRollout(withCheck: true);
        RolloutTransitions.Step(rollout, T0, NoGates, NoChecks);
        var failing = new Dictionary<string, string?> { ["web0"] = "check http://web0/health: HTTP 500, expected (2|3)[0-9][0-9]", ["web1"] = null };
        RolloutTransitions.Step(rollout, T0, Gates(rollout, Seen.Healthy), failing);
        Assert.AreEqual("moving", S(rollout.Nodes[0]), "a failing check before the gate timeout holds");
        StringAssert.Contains(rollout.Nodes[0].Detail, "HTTP 500");
        Assert.AreEqual("healthy", S(rollout.Nodes[1]), "a passing check (no hold) passes");
        RolloutTransitions.Step(rollout, T0 + GateTimeout + TimeSpan.FromSeconds(1), Gates(rollout, Seen.Healthy), failing);
        Assert.AreEqual("failed", S(rollout.Nodes[0]), "still failing past the gate timeout");
        // A report that came after the checks ran is checked on the next step: no verdict without a check result.
        var unchecked_ = NewRollout(withCheck: true);
        RolloutTransitions.Step(unchecked_, T0, NoGates, NoChecks);
        RolloutTransitions.Step(unchecked_, T0, Gates(unchecked_, Seen.Healthy), NoChecks);
        Assert.IsTrue(unchecked_.Nodes.Where(n => n.Batch == 0).All(n => S(n) == "moving"));
    }

    [TestMethod]
    public void A_discarded_step_leaves_the_stored_rollout_as_it_was()
    {
        // What the engine does when its lease was lost or the rollout changed under it: the step ran on a copy and is not stored.
        var stored = NewRollout();
        var copy = stored.Copy();
        RolloutTransitions.Step(copy, T0, NoGates, NoChecks);
        Assert.AreNotEqual(stored, copy);
        Assert.AreEqual(NewRollout(), stored);
    }

    [TestMethod]
    public void Random_sequences_of_steps_reports_and_commands_keep_every_invariant_and_always_end()
    {
        for (var seed = 1; seed <= 300; seed++)
        {
            var random = new Random(seed);
            var rollout = NewRollout(random.Next(2) == 0 ? "pause" : "rollback", withCheck: random.Next(2) == 0);
            var now = T0;
            var trail = new List<string>();
            for (var i = 0; i < 60; i++)
            {
                var before = rollout.Copy();
                var what = random.Next(10);
                if (what < 2)
                {
                    var command = RolloutTransitions.Commands[random.Next(RolloutTransitions.Commands.Count)];
                    trail.Add(command);
                    try
                    {
                        RolloutTransitions.Command(rollout, command);
                    }
                    catch (RolloutException)
                    {
                        Assert.AreEqual(before, rollout, $"seed {seed}: a refused {command} changed the rollout");
                    }
                }
                else
                {
                    now += TimeSpan.FromSeconds(random.Next(0, 400));
                    var seen = (Seen)random.Next(4);
                    var checks = rollout.Nodes.ToDictionary(n => n.Node, n => random.Next(3) == 0 ? "check failed" : (string?)null, StringComparer.Ordinal);
                    trail.Add($"step {seen} +{(now - T0).TotalSeconds:0}s");
                    var pins = RolloutTransitions.Step(rollout, now, Gates(rollout, seen), checks);
                    foreach (var (node, pin) in pins)
                    {
                        var moved = rollout.Nodes.Single(n => n.Node == node);
                        Assert.AreEqual(S(moved) == "moving" ? rollout.Revision : moved.PreviousRevision, pin, $"seed {seed}: {node} pinned to the wrong revision");
                    }
                }
                Invariants(seed, before, rollout, trail);
            }
            // Liveness: resumed if paused, and with every gate healthy, it always ends.
            if (S(rollout) == "paused")
            {
                RolloutTransitions.Command(rollout, "resume");
            }
            for (var i = 0; i < 40 && S(rollout) is "running" or "rolling-back"; i++)
            {
                now += GateTimeout;
                var checks = rollout.Nodes.ToDictionary(n => n.Node, _ => (string?)null, StringComparer.Ordinal);
                RolloutTransitions.Step(rollout, now, Gates(rollout, Seen.Healthy), checks);
            }
            Assert.IsTrue(S(rollout) is "done" or "rolled-back" or "aborted",
                $"seed {seed}: stuck {S(rollout)} after {string.Join(", ", trail)}\n{rollout}");
        }
    }

    private static void Invariants(int seed, RolloutRecord before, RolloutRecord after, List<string> trail)
    {
        var context = $"seed {seed} after {string.Join(", ", trail)}\n{after}";
        CollectionAssert.Contains(States, S(after), context);
        if (S(before) is "aborted" or "rolled-back")
        {
            Assert.AreEqual(before, after, "an ended rollout never changes: " + context);
        }
        if (S(before) == "done")
        {
            Assert.IsTrue(S(after) is "done" or "rolling-back", "done changes only by a rollback: " + context);
        }
        Assert.IsLessThanOrEqualTo(after.Batches, after.Batch, context);
        foreach (var node in after.Nodes)
        {
            CollectionAssert.Contains(new[] { "pending", "moving", "healthy", "failed", "returning", "returned" }, S(node), context);
            if (S(after) == "running" && node.Batch > after.Batch)
            {
                Assert.AreEqual("pending", S(node), "no node of a later batch moves early: " + context);
            }
            var was = S(before.Nodes.Single(n => n.Node == node.Node));
            if (was == "returned")
            {
                Assert.AreEqual("returned", S(node), "a returned node stays: " + context);
            }
        }
        if (S(before) == "running" && S(after) == "running" && trail[^1].StartsWith("step", StringComparison.Ordinal))
        {
            var budget = RolloutPlan.MaxFailures(after.Settings, after.Nodes.Count) + (int)after.AcceptedFailures;
            Assert.IsLessThanOrEqualTo(budget, after.Nodes.Count(n => S(n) == "failed"), "past the budget a step stops the rollout: " + context);
        }
    }
}
