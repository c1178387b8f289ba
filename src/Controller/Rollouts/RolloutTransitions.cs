using Hawser.Controller.Store;
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
    public static void Command(RolloutRecord rollout, string action)
    {
        var state = rollout.State;
        switch (action)
        {
            case "pause" when state == RolloutState.Running:
                rollout.State = RolloutState.Paused;
                rollout.Reason = "paused by the operator";
                break;
            case "resume" when state == RolloutState.Paused:
                rollout.State = RolloutState.Running;
                rollout.Reason = "";
                // Resuming past failures accepts them; only new ones count against the budget.
                rollout.AcceptedFailures = (uint)rollout.Nodes.Count(n => n.State == RolloutNodeState.Failed);
                break;
            case "abort" when RolloutWords.IsActive(state):
                rollout.State = RolloutState.Aborted;
                rollout.Reason = "aborted by the operator; nodes stay where they are";
                break;
            case "promote" when state is RolloutState.Running or RolloutState.Paused:
                rollout.Promoted = true;
                rollout.NextBatchAt = null;
                break;
            case "rollback" when state is RolloutState.Running or RolloutState.Paused or RolloutState.Done:
                rollout.State = RolloutState.RollingBack;
                rollout.Reason = "rollback requested by the operator";
                break;
            case "pause" or "resume" or "abort" or "promote" or "rollback":
                throw new RolloutException($"rollout {rollout.Id} is {RolloutWords.Of(state)}; it cannot {action} now");
            default:
                throw new RolloutException($"'{action}' is not an action; use pause, resume, abort, promote or rollback");
        }
    }

    /// <summary>
    /// One engine step at <paramref name="now"/>: move a batch, judge the moving nodes, advance, finish, or stop past the
    /// failure budget. Returns the nodes to pin (and push), each with its revision.
    /// </summary>
    public static List<(string Node, ulong Pin)> Step(RolloutRecord rollout, DateTimeOffset now, IReadOnlyDictionary<string, GateView> gates,
        IReadOnlyDictionary<string, string?> checks) => rollout.State switch
    {
        RolloutState.Running => Advance(rollout, now, gates, checks),
        RolloutState.RollingBack => Return(rollout, now, gates, checks),
        _ => [],
    };

    private static List<(string Node, ulong Pin)> Advance(RolloutRecord rollout, DateTimeOffset now, IReadOnlyDictionary<string, GateView> gates, IReadOnlyDictionary<string, string?> checks)
    {
        if (rollout.Batch >= rollout.Batches)
        {
            Finish(rollout, RolloutState.Done, $"revision {rollout.Revision} is on every node of the rollout");
            return [];
        }
        if (rollout.NextBatchAt is { } next && next > now && !rollout.Promoted)
        {
            return [];
        }
        var batch = rollout.Nodes.Where(n => n.Batch == rollout.Batch).ToList();
        var pending = batch.Where(n => n.State == RolloutNodeState.Pending).ToList();
        if (pending.Count > 0)
        {
            rollout.NextBatchAt = null;
            return Move(pending, RolloutNodeState.Moving, rollout.Revision, now);
        }
        var plan = RolloutPlan.Parse(rollout.Settings);
        foreach (var node in batch.Where(n => n.State == RolloutNodeState.Moving))
        {
            Judge(plan, node, RolloutNodeState.Healthy, now, gates, checks);
        }
        var failed = rollout.Nodes.Count(n => n.State == RolloutNodeState.Failed);
        var budget = RolloutPlan.MaxFailures(rollout.Settings, rollout.Nodes.Count) + (int)rollout.AcceptedFailures;
        if (failed > budget)
        {
            var which = string.Join("; ", rollout.Nodes.Where(n => n.State == RolloutNodeState.Failed).Select(n => $"{n.Node}: {n.Detail}"));
            var reason = $"{failed} node(s) failed, more than the {budget} allowed: {which}";
            if (plan.OnFailure == "rollback")
            {
                rollout.State = RolloutState.RollingBack;
                rollout.Reason = reason + "; returning every moved node to its previous revision";
            }
            else
            {
                rollout.State = RolloutState.Paused;
                rollout.Reason = reason + "; resume, roll back or abort";
            }
            return [];
        }
        if (batch.All(n => n.State is RolloutNodeState.Healthy or RolloutNodeState.Failed))
        {
            rollout.Batch++;
            var pause = rollout.Settings.Pause ?? TimeSpan.Zero;
            if (rollout.Batch < rollout.Batches && pause > TimeSpan.Zero && !rollout.Promoted)
            {
                rollout.NextBatchAt = now + pause;
            }
        }
        return [];
    }

    /// <summary>Rolling back: the highest batch with moved nodes returns first, through the same gates.</summary>
    private static List<(string Node, ulong Pin)> Return(RolloutRecord rollout, DateTimeOffset now, IReadOnlyDictionary<string, GateView> gates, IReadOnlyDictionary<string, string?> checks)
    {
        var returning = rollout.Nodes.Where(n => n.State == RolloutNodeState.Returning).ToList();
        if (returning.Count == 0)
        {
            var moved = rollout.Nodes.Where(n => n.State is RolloutNodeState.Moving or RolloutNodeState.Healthy or RolloutNodeState.Failed).ToList();
            if (moved.Count == 0)
            {
                Finish(rollout, RolloutState.RolledBack, "every moved node is back on its previous revision" + (rollout.Reason.Length > 0 ? $" ({rollout.Reason})" : ""));
                return [];
            }
            var last = moved.Max(n => n.Batch);
            return [.. moved.Where(n => n.Batch == last).SelectMany(n => Move([n], RolloutNodeState.Returning, n.PreviousRevision, now))];
        }
        var plan = RolloutPlan.Parse(rollout.Settings);
        foreach (var node in returning)
        {
            Judge(plan, node, RolloutNodeState.Returned, now, gates, checks);
        }
        // A node that cannot return is reported, not retried for ever; the rest still go back.
        foreach (var node in returning.Where(n => n.State == RolloutNodeState.Failed))
        {
            node.State = RolloutNodeState.Returned;
            node.Detail = "did not return cleanly: " + node.Detail;
        }
        foreach (var node in returning.Where(n => n.State == RolloutNodeState.Returned && n.PreviousRevision != 0 && !n.Detail.StartsWith("did not", StringComparison.Ordinal)))
        {
            node.Detail = $"back on revision {node.PreviousRevision}";
        }
        return [];
    }

    private static List<(string Node, ulong Pin)> Move(List<RolloutNodeRecord> nodes, RolloutNodeState state, ulong pin, DateTimeOffset now)
    {
        foreach (var node in nodes)
        {
            node.State = state;
            node.Detail = "";
            node.MovedAt = now;
            node.HealthySince = null;
            node.Unchanged = false;
        }
        return [.. nodes.Select(n => (n.Node, pin))];
    }

    /// <summary>
    /// Marks <paramref name="node"/> <paramref name="passed"/> or failed when its gate says so; otherwise leaves it.
    /// <paramref name="checks"/> holds the HTTP checks run before the step; a node not in it is judged on the next step.
    /// </summary>
    private static void Judge(RolloutPlan plan, RolloutNodeRecord node, RolloutNodeState passed, DateTimeOffset now, IReadOnlyDictionary<string, GateView> gates,
        IReadOnlyDictionary<string, string?> checks)
    {
        if (passed == RolloutNodeState.Returned && node.PreviousRevision == 0)
        {
            // It had no revision before: there is nothing to return to, so it keeps what it has.
            node.State = RolloutNodeState.Returned;
            node.Detail = "had no revision before this rollout; left as it is";
            return;
        }
        var late = node.MovedAt is not { } movedAt || now - movedAt > plan.GateTimeout;
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
        var failures = report.Resources.Where(r => r.IsFailed).ToList();
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
        node.HealthySince ??= now;
        if (now - node.HealthySince.Value >= plan.Hold)
        {
            node.State = passed;
            node.Detail = plan.Checks.Count > 0 ? $"applied; checks passed for {plan.Hold.TotalSeconds:0} s" : "applied";
        }
        else
        {
            node.Detail = "applied; checks passing, holding";
        }
    }

    private static void Fail(RolloutNodeRecord node, string why)
    {
        node.State = RolloutNodeState.Failed;
        node.Detail = why;
        node.Failure = why;
    }

    private static void Finish(RolloutRecord rollout, RolloutState state, string reason)
    {
        rollout.State = state;
        rollout.Reason = reason;
        rollout.NextBatchAt = null;
    }
}

/// <summary>What a rollout's gate sees of one node: its record, its report of the revision it moves to when that came after the move, that revision, and whether it is connected.</summary>
public sealed record GateView(NodeRecord? Record, NodeReport? Fresh, ulong? Revision, bool Connected)
{
    /// <summary>A node gone from the controller or from the revision.</summary>
    public static readonly GateView Gone = new(null, null, null, false);
}
