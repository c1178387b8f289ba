using Google.Protobuf.WellKnownTypes;
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
    private static Rollout NewRollout(string onFailure = "pause", bool withCheck = false)
    {
        var options = new RolloutOptions { Batch = "2", MaxFailures = "1", OnFailure = onFailure, GateTimeout = Duration.FromTimeSpan(GateTimeout) };
        if (withCheck)
        {
            options.Checks.Add(new HttpCheck { Url = "http://{node}/health" });
        }
        var rollout = new Rollout { Id = 1, Revision = 7, State = "running", Options = options, Batches = 2 };
        for (var i = 0; i < 4; i++)
        {
            rollout.Nodes.Add(new RolloutNode { Node = $"web{i}", Batch = (uint)(i / 2), State = "pending", PreviousRevision = 5 });
        }
        return rollout;
    }

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
        var report = new StatusReport { Revision = revision };
        report.Resources.Add(new ResourceStatus { Kind = "sysctl", Name = "net.ipv4.x", State = seen == Seen.Failed ? ResourceState.Failed : ResourceState.InSync, Error = seen == Seen.Failed ? "write refused" : "" });
        return new GateView(record, report, revision, Connected: true);
    }

    /// <summary>Every moving or returning node seen as <paramref name="seen"/>.</summary>
    private static Dictionary<string, GateView> Gates(Rollout rollout, Seen seen) =>
        rollout.Nodes.Where(n => n.State is "moving" or "returning")
            .ToDictionary(n => n.Node, n => Gate(n.Node, seen, n.State == "moving" ? rollout.Revision : n.PreviousRevision), StringComparer.Ordinal);

    private static readonly Dictionary<string, string?> NoChecks = [];

    private static Rollout InState(string state)
    {
        var rollout = NewRollout();
        rollout.State = state;
        if (state is "rolling-back")
        {
            // Something moved to return.
            rollout.Nodes[0].State = "healthy";
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
            var before = rollout.Clone();
            if (expected[i] is { } after)
            {
                RolloutTransitions.Command(rollout, command);
                Assert.AreEqual(after, rollout.State, $"{state} + {command}");
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
            var before = rollout.Clone();
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
            var gates = rollout.State == "rolling-back" ? Gates(rollout, Seen.Healthy) : Gates(rollout, seen);
            pins.AddRange(RolloutTransitions.Step(rollout, T0, gates, NoChecks));
        }
        Assert.AreEqual(final, rollout.State, rollout.ToString());
        if (final == "done")
        {
            Assert.IsTrue(rollout.Nodes.All(n => n.State == "healthy"));
            CollectionAssert.AreEquivalent(new[] { "web0", "web1", "web2", "web3" }, pins.Select(p => p.Node).ToArray(), "each node moved once");
            Assert.IsTrue(pins.All(p => p.Pin == 7));
        }
        if (final == "running")
        {
            // Silence is not failure before the gate timeout: the first batch waits.
            Assert.IsTrue(rollout.Nodes.Where(n => n.Batch == 0).All(n => n.State == "moving"), rollout.ToString());
            Assert.IsTrue(rollout.Nodes.Where(n => n.Batch == 1).All(n => n.State == "pending"), "the next batch does not move past a waiting gate");
        }
        Assert.AreEqual(failed, rollout.Nodes.Count(n => n.Failure.Length > 0), rollout.ToString());
        if (final == "rolled-back")
        {
            Assert.IsTrue(pins.Where(p => p.Pin != 7).All(p => p.Pin == 5), "a node returns to its previous revision");
            Assert.IsTrue(rollout.Nodes.Where(n => n.Batch == 0).All(n => n.State == "returned"), rollout.ToString());
        }
    }

    [TestMethod]
    public void Silence_past_the_gate_timeout_fails_the_node_naming_why()
    {
        var rollout = NewRollout();
        RolloutTransitions.Step(rollout, T0, NoGates, NoChecks);
        RolloutTransitions.Step(rollout, T0 + GateTimeout + TimeSpan.FromSeconds(1), Gates(rollout, Seen.Nothing), NoChecks);
        Assert.AreEqual("failed", rollout.Nodes[0].State);
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
        Assert.AreEqual("moving", rollout.Nodes[0].State, "a failing check before the gate timeout holds");
        StringAssert.Contains(rollout.Nodes[0].Detail, "HTTP 500");
        Assert.AreEqual("healthy", rollout.Nodes[1].State, "a passing check (no hold) passes");
        RolloutTransitions.Step(rollout, T0 + GateTimeout + TimeSpan.FromSeconds(1), Gates(rollout, Seen.Healthy), failing);
        Assert.AreEqual("failed", rollout.Nodes[0].State, "still failing past the gate timeout");
        // A report that came after the checks ran is checked on the next step: no verdict without a check result.
        var unchecked_ = NewRollout(withCheck: true);
        RolloutTransitions.Step(unchecked_, T0, NoGates, NoChecks);
        RolloutTransitions.Step(unchecked_, T0, Gates(unchecked_, Seen.Healthy), NoChecks);
        Assert.IsTrue(unchecked_.Nodes.Where(n => n.Batch == 0).All(n => n.State == "moving"));
    }

    [TestMethod]
    public void A_discarded_step_leaves_the_stored_rollout_as_it_was()
    {
        // What the engine does when its lease was lost or the rollout changed under it: the step ran on a copy and is not stored.
        var stored = NewRollout();
        var copy = stored.Clone();
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
                var before = rollout.Clone();
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
                        Assert.AreEqual(moved.State == "moving" ? rollout.Revision : moved.PreviousRevision, pin, $"seed {seed}: {node} pinned to the wrong revision");
                    }
                }
                Invariants(seed, before, rollout, trail);
            }
            // Liveness: resumed if paused, and with every gate healthy, it always ends.
            if (rollout.State == "paused")
            {
                RolloutTransitions.Command(rollout, "resume");
            }
            for (var i = 0; i < 40 && rollout.State is "running" or "rolling-back"; i++)
            {
                now += GateTimeout;
                var checks = rollout.Nodes.ToDictionary(n => n.Node, _ => (string?)null, StringComparer.Ordinal);
                RolloutTransitions.Step(rollout, now, Gates(rollout, Seen.Healthy), checks);
            }
            Assert.IsTrue(rollout.State is "done" or "rolled-back" or "aborted",
                $"seed {seed}: stuck {rollout.State} after {string.Join(", ", trail)}\n{rollout}");
        }
    }

    private static void Invariants(int seed, Rollout before, Rollout after, List<string> trail)
    {
        var context = $"seed {seed} after {string.Join(", ", trail)}\n{after}";
        CollectionAssert.Contains(States, after.State, context);
        if (before.State is "aborted" or "rolled-back")
        {
            Assert.AreEqual(before, after, "an ended rollout never changes: " + context);
        }
        if (before.State == "done")
        {
            Assert.IsTrue(after.State is "done" or "rolling-back", "done changes only by a rollback: " + context);
        }
        Assert.IsLessThanOrEqualTo(after.Batches, after.Batch, context);
        foreach (var node in after.Nodes)
        {
            CollectionAssert.Contains(new[] { "pending", "moving", "healthy", "failed", "returning", "returned" }, node.State, context);
            if (after.State == "running" && node.Batch > after.Batch)
            {
                Assert.AreEqual("pending", node.State, "no node of a later batch moves early: " + context);
            }
            var was = before.Nodes.Single(n => n.Node == node.Node).State;
            if (was == "returned")
            {
                Assert.AreEqual("returned", node.State, "a returned node stays: " + context);
            }
        }
        if (before.State == "running" && after.State == "running" && trail[^1].StartsWith("step", StringComparison.Ordinal))
        {
            var budget = RolloutPlan.MaxFailures(after.Options, after.Nodes.Count) + (int)after.AcceptedFailures;
            Assert.IsLessThanOrEqualTo(budget, after.Nodes.Count(n => n.State == "failed"), "past the budget a step stops the rollout: " + context);
        }
    }
}
