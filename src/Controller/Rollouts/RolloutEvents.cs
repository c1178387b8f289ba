using Hawser.Controller.Store;

namespace Hawser.Controller.Rollouts;

/// <summary>The event log's lines for one saved step of a rollout: what changed between two versions of it.</summary>
public static class RolloutEvents
{
    /// <summary>
    /// The events between <paramref name="before"/> (null: the rollout is new) and <paramref name="after"/>:
    /// its start, a state change with the reason, a batch begun, each node whose state moved.
    /// </summary>
    public static IReadOnlyList<EventRecord> Between(RolloutRecord? before, RolloutRecord after, string actor)
    {
        var events = new List<EventRecord>();
        if (before is null)
        {
            events.Add(Step(actor, "rollout.started",
                $"started: revision {after.Revision} to {after.Nodes.Count} node(s) in {after.Batches} batch(es)",
                [.. Enumerable.Range(0, (int)after.Batches).Select(b => $"batch {b + 1}: {string.Join(", ", after.Nodes.Where(n => n.Batch == b).Select(n => n.Node))}")]));
            return events;
        }
        if (before.State != after.State)
        {
            events.Add(Step(actor, "rollout.state", $"{RolloutWords.Of(before.State)} -> {RolloutWords.Of(after.State)}" + (after.Reason.Length > 0 ? $": {after.Reason}" : ""), []));
        }
        if (!before.Promoted && after.Promoted)
        {
            events.Add(Step(actor, "rollout.promoted", "promoted: the remaining pauses are skipped", []));
        }
        if (after.Batch != before.Batch && after.Batch < after.Batches)
        {
            var when = after.NextBatchAt is { } next ? $", after a pause until {next.UtcDateTime:HH:mm:ss}Z" : "";
            events.Add(Step(actor, "rollout.batch", $"batch {after.Batch + 1} of {after.Batches} next{when}", []));
        }
        foreach (var (old, now) in before.Nodes.Zip(after.Nodes))
        {
            if (old.State != now.State)
            {
                events.Add(Step(actor, "rollout.node", $"{now.Node}: {RolloutWords.Of(old.State)} -> {RolloutWords.Of(now.State)}", now.Detail.Length > 0 ? [now.Detail] : []) with { Node = now.Node });
            }
        }
        return events;
    }

    private static EventRecord Step(string actor, string kind, string summary, IReadOnlyList<string> details) =>
        new() { Kind = kind, Actor = actor, Summary = summary, Details = details };
}
