using Google.Protobuf.WellKnownTypes;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Rollouts;

/// <summary>
/// The rollout state machine, without I/O: what an operator's command and an engine step do to a rollout, given what
/// the gates see (<see cref="GateView"/>, read before the step) and the HTTP checks' results. The engine reads, calls
/// these, and stores the outcome; a lost lease or a changed rollout means the outcome is not stored (no transition).
/// </summary>
public static class RolloutTransitions
{
    /// <summary>Operators' commands.</summary>
    public static readonly IReadOnlyList<string> Commands = ["pause", "resume", "abort", "promote", "rollback"];

    /// <summary>Applies an operator's <paramref name="action"/>; <see cref="RolloutException"/> when it makes no sense in the rollout's state.</summary>
    public static void Command(Rollout rollout, string action)
    {
        var state = rollout.State;
        switch (action)
        {
            case "pause" when state == "running":
                rollout.State = "paused";
                rollout.Reason = "paused by the operator";
                break;
            case "resume" when state == "paused":
                rollout.State = "running";
                rollout.Reason = "";
                // Resuming past failures accepts them; only new ones count against the budget.
                rollout.AcceptedFailures = (uint)rollout.Nodes.Count(n => n.State == "failed");
                break;
            case "abort" when ControllerStore.ActiveRolloutStates.Contains(state):
                rollout.State = "aborted";
                rollout.Reason = "aborted by the operator; nodes stay where they are";
                break;
            case "promote" when state is "running" or "paused":
                rollout.Promoted = true;
                rollout.NextBatchAt = null;
                break;
            case "rollback" when state is "running" or "paused" or "done":
                rollout.State = "rolling-back";
                rollout.Reason = "rollback requested by the operator";
                break;
            case "pause" or "resume" or "abort" or "promote" or "rollback":
                throw new RolloutException($"rollout {rollout.Id} is {state}; it cannot {action} now");
            default:
                throw new RolloutException($"'{action}' is not an action; use pause, resume, abort, promote or rollback");
        }
    }

    /// <summary>
    /// One engine step at <paramref name="now"/>: move a batch, judge the moving nodes, advance, finish, or stop past the
    /// failure budget. Returns the nodes to pin (and push), each with its revision.
    /// </summary>
    public static List<(string Node, ulong Pin)> Step(Rollout rollout, DateTimeOffset now, IReadOnlyDictionary<string, GateView> gates,
        IReadOnlyDictionary<string, string?> checks) => rollout.State switch
    {
        "running" => Advance(rollout, now, gates, checks),
        "rolling-back" => Return(rollout, now, gates, checks),
        _ => [],
    };

    private static List<(string Node, ulong Pin)> Advance(Rollout rollout, DateTimeOffset now, IReadOnlyDictionary<string, GateView> gates, IReadOnlyDictionary<string, string?> checks)
    {
        if (rollout.Batch >= rollout.Batches)
        {
            Finish(rollout, "done", $"revision {rollout.Revision} is on every node of the rollout");
            return [];
        }
        if (rollout.NextBatchAt is { } next && next.ToDateTimeOffset() > now && !rollout.Promoted)
        {
            return [];
        }
        var batch = rollout.Nodes.Where(n => n.Batch == rollout.Batch).ToList();
        var pending = batch.Where(n => n.State == "pending").ToList();
        if (pending.Count > 0)
        {
            rollout.NextBatchAt = null;
            return Move(pending, "moving", rollout.Revision, now);
        }
        var plan = RolloutPlan.Parse(rollout.Options);
        foreach (var node in batch.Where(n => n.State == "moving"))
        {
            Judge(plan, node, "healthy", now, gates, checks);
        }
        var failed = rollout.Nodes.Count(n => n.State == "failed");
        var budget = RolloutPlan.MaxFailures(rollout.Options, rollout.Nodes.Count) + (int)rollout.AcceptedFailures;
        if (failed > budget)
        {
            var which = string.Join("; ", rollout.Nodes.Where(n => n.State == "failed").Select(n => $"{n.Node}: {n.Detail}"));
            var reason = $"{failed} node(s) failed, more than the {budget} allowed: {which}";
            if (plan.OnFailure == "rollback")
            {
                rollout.State = "rolling-back";
                rollout.Reason = reason + "; returning every moved node to its previous revision";
            }
            else
            {
                rollout.State = "paused";
                rollout.Reason = reason + "; resume, roll back or abort";
            }
            return [];
        }
        if (batch.All(n => n.State is "healthy" or "failed"))
        {
            rollout.Batch++;
            var pause = rollout.Options.Pause?.ToTimeSpan() ?? TimeSpan.Zero;
            if (rollout.Batch < rollout.Batches && pause > TimeSpan.Zero && !rollout.Promoted)
            {
                rollout.NextBatchAt = Timestamp.FromDateTimeOffset(now + pause);
            }
        }
        return [];
    }

    /// <summary>Rolling back: the highest batch with moved nodes returns first, through the same gates.</summary>
    private static List<(string Node, ulong Pin)> Return(Rollout rollout, DateTimeOffset now, IReadOnlyDictionary<string, GateView> gates, IReadOnlyDictionary<string, string?> checks)
    {
        var returning = rollout.Nodes.Where(n => n.State == "returning").ToList();
        if (returning.Count == 0)
        {
            var moved = rollout.Nodes.Where(n => n.State is "moving" or "healthy" or "failed").ToList();
            if (moved.Count == 0)
            {
                Finish(rollout, "rolled-back", "every moved node is back on its previous revision" + (rollout.Reason.Length > 0 ? $" ({rollout.Reason})" : ""));
                return [];
            }
            var last = moved.Max(n => n.Batch);
            return [.. moved.Where(n => n.Batch == last).SelectMany(n => Move([n], "returning", n.PreviousRevision, now))];
        }
        var plan = RolloutPlan.Parse(rollout.Options);
        foreach (var node in returning)
        {
            Judge(plan, node, "returned", now, gates, checks);
        }
        // A node that cannot return is reported, not retried for ever; the rest still go back.
        foreach (var node in returning.Where(n => n.State == "failed"))
        {
            node.State = "returned";
            node.Detail = "did not return cleanly: " + node.Detail;
        }
        foreach (var node in returning.Where(n => n.State == "returned" && n.PreviousRevision != 0 && !n.Detail.StartsWith("did not", StringComparison.Ordinal)))
        {
            node.Detail = $"back on revision {node.PreviousRevision}";
        }
        return [];
    }

    private static List<(string Node, ulong Pin)> Move(List<RolloutNode> nodes, string state, ulong pin, DateTimeOffset now)
    {
        foreach (var node in nodes)
        {
            node.State = state;
            node.Detail = "";
            node.MovedAt = Timestamp.FromDateTimeOffset(now);
            node.HealthySince = null;
            node.Unchanged = false;
        }
        return [.. nodes.Select(n => (n.Node, pin))];
    }

    /// <summary>
    /// Marks <paramref name="node"/> <paramref name="passed"/> or failed when its gate says so; otherwise leaves it.
    /// <paramref name="checks"/> holds the HTTP checks run before the step; a node not in it is judged on the next step.
    /// </summary>
    private static void Judge(RolloutPlan plan, RolloutNode node, string passed, DateTimeOffset now, IReadOnlyDictionary<string, GateView> gates,
        IReadOnlyDictionary<string, string?> checks)
    {
        if (passed == "returned" && node.PreviousRevision == 0)
        {
            // It had no revision before: there is nothing to return to, so it keeps what it has.
            node.State = "returned";
            node.Detail = "had no revision before this rollout; left as it is";
            return;
        }
        var late = now - node.MovedAt.ToDateTimeOffset() > plan.GateTimeout;
        var (record, report, revision, connected) = gates.GetValueOrDefault(node.Node) ?? GateView.Gone;
        if (record is null)
        {
            Fail(node, "the node is gone from the controller or from the revision");
            return;
        }
        if (report is null)
        {
            if (late)
            {
                Fail(node, connected ? $"no report of revision {revision} within the gate timeout" : "not connected");
            }
            return;
        }
        var failures = report.Resources.Where(r => StateWords.IsFailed(r.State)).ToList();
        if (failures.Count > 0)
        {
            Fail(node, string.Join("; ", failures.Select(r => $"{r.Kind}:{r.Name} {(r.Error.Length > 0 ? r.Error : "skipped")}".Trim())));
            return;
        }
        if (plan.Checks.Count > 0)
        {
            if (!checks.TryGetValue(node.Node, out var failing))
            {
                return; // its report came after the checks ran: checked on the next step
            }
            if (failing is not null)
            {
                node.HealthySince = null;
                node.Detail = failing;
                if (late)
                {
                    Fail(node, failing);
                }
                return;
            }
        }
        node.HealthySince ??= Timestamp.FromDateTimeOffset(now);
        if (now - node.HealthySince.ToDateTimeOffset() >= plan.Hold)
        {
            node.State = passed;
            node.Detail = plan.Checks.Count > 0 ? $"applied; checks passed for {plan.Hold.TotalSeconds:0} s" : "applied";
        }
        else
        {
            node.Detail = "applied; checks passing, holding";
        }
    }

    private static void Fail(RolloutNode node, string why)
    {
        node.State = "failed";
        node.Detail = why;
        node.Failure = why;
    }

    private static void Finish(Rollout rollout, string state, string reason)
    {
        rollout.State = state;
        rollout.Reason = reason;
        rollout.NextBatchAt = null;
    }
}

/// <summary>What a rollout's gate sees of one node: its record, its report of the revision it moves to when that came after the move, that revision, and whether it is connected.</summary>
public sealed record GateView(NodeRecord? Record, StatusReport? Fresh, ulong? Revision, bool Connected)
{
    /// <summary>A node gone from the controller or from the revision.</summary>
    public static readonly GateView Gone = new(null, null, null, false);
}
