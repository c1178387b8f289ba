using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Ctl.Output;

/// <summary>One word for a node's condition, shared by every command that shows nodes.</summary>
internal static class NodeState
{
    /// <summary>in-sync, pending (applied behind desired), failed, offline, or new (never reported).</summary>
    public static string Of(Node node) => node.VersionProblem.Length > 0 ? StateWords.Incompatible :
        StateWords.Node(node.Connected, node.LastReportAt is not null, Counts(node) is { } c && c.Failed + c.Skipped > 0, node.AppliedRevision, node.DesiredRevision);

    /// <summary>
    /// The counts of the node's last report: the controller's (a listing carries counts, not resources), or counted here
    /// from the resources of a controller that sends no counts.
    /// </summary>
    public static ResourceStateCounts Counts(Node node) => node.Counts ?? StateWords.Count(node.Resources);

    /// <summary>The counts of the node's outcome report, as <see cref="Counts"/>.</summary>
    public static ResourceStateCounts OutcomeCounts(Node node) =>
        node.OutcomeRevision == 0 ? Counts(node) : node.OutcomeCounts ?? StateWords.Count(node.OutcomeResources);

    /// <summary>The revision a rollout holds the node on, or null.</summary>
    public static ulong? Pin(Node node) => node.PinnedRevision == 0 ? null : node.PinnedRevision;

    /// <summary>APPLIED/DESIRED, with the pin when a rollout holds the node ("1/2 pinned 1").</summary>
    public static string Revisions(Node node) =>
        $"{node.AppliedRevision}/{node.DesiredRevision}" + (Pin(node) is { } pin ? $" pinned {pin}" : "");

    /// <summary>The node's state as a coloured table cell.</summary>
    public static string StateCell(Node node) => Of(node) switch
    {
        "in-sync" => "[green]in-sync[/]",
        "failed" or StateWords.Incompatible => $"[red]{Of(node)}[/]",
        "offline" => "[grey]offline[/]",
        var other => $"[yellow]{other}[/]",
    };

    /// <summary>The RESOURCES column's header: what <see cref="CountsCell"/> counts, in order.</summary>
    public const string CountsHeader = "SYNC/CHG/FAIL";

    /// <summary>The last report's counts in one short cell, <c>12/0/0</c> (in sync / changed / failed), the failures red.</summary>
    public static string CountsCell(Node node) => Count(node) is var c && c.Failed > 0 ? $"{c.InSync}/{c.Changed}/[red]{c.Failed}[/]" : $"{c.InSync}/{c.Changed}/0";

    /// <summary>When the node was last seen, as an age: <c>4s ago</c>, <c>5m ago</c>, <c>2h ago</c>, <c>3d ago</c>, or <c>never</c>.</summary>
    public static string LastSeen(Node node)
    {
        if (node.LastSeen is null)
        {
            return "never";
        }
        var age = DateTimeOffset.UtcNow - node.LastSeen.ToDateTimeOffset();
        return age.TotalSeconds < 1 ? "now"
            : age.TotalMinutes < 1 ? $"{(int)age.TotalSeconds}s ago"
            : age.TotalHours < 1 ? $"{(int)age.TotalMinutes}m ago"
            : age.TotalDays < 1 ? $"{(int)age.TotalHours}h ago"
            : $"{(int)age.TotalDays}d ago";
    }

    /// <summary>Per-state resource counts from the node's last report.</summary>
    public static ResourceCounts Count(Node node) => Count(Counts(node));

    /// <summary>The JSON form of the controller's counts (skipped and other counted together as other).</summary>
    public static ResourceCounts Count(ResourceStateCounts c) => new((int)c.InSync, (int)c.Changed, (int)c.Failed, (int)(c.Skipped + c.Other));

    /// <summary>Per-state counts of <paramref name="resources"/>.</summary>
    public static ResourceCounts Count(IReadOnlyCollection<ResourceStatus> resources) => new(
        resources.Count(r => r.State == ResourceState.InSync),
        resources.Count(r => r.State == ResourceState.Changed),
        resources.Count(r => r.State == ResourceState.Failed),
        resources.Count(r => r.State is not (ResourceState.InSync or ResourceState.Changed or ResourceState.Failed)));

    /// <summary>
    /// The revision the node's outcome is about and its resources: the converge of the revision it was last sent
    /// (a drift check reported since does not replace it), or its last report from a controller that keeps no outcome.
    /// </summary>
    public static (ulong Revision, IReadOnlyCollection<ResourceStatus> Resources) Outcome(Node node) =>
        node.OutcomeRevision != 0 ? (node.OutcomeRevision, node.OutcomeResources) : (node.LastReportRevision, node.Resources);
}
