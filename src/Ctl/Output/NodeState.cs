using Hawser.Shared.Protocol.V1;

namespace Hawser.Ctl.Output;

/// <summary>One word for a node's condition, shared by every command that shows nodes.</summary>
internal static class NodeState
{
    /// <summary>in-sync, pending (applied behind desired), failed, offline, or new (never reported).</summary>
    public static string Of(Node node) =>
        !node.Connected ? "offline"
        : node.LastReportAt is null ? "new"
        : node.Resources.Any(r => r.State is ResourceState.Failed or ResourceState.Skipped) ? "failed"
        : node.AppliedRevision != node.DesiredRevision ? "pending"
        : "in-sync";

    /// <summary>Per-state resource counts from the node's last report.</summary>
    public static ResourceCounts Count(Node node) => new(
        node.Resources.Count(r => r.State == ResourceState.InSync),
        node.Resources.Count(r => r.State == ResourceState.Changed),
        node.Resources.Count(r => r.State == ResourceState.Failed),
        node.Resources.Count(r => r.State is not (ResourceState.InSync or ResourceState.Changed or ResourceState.Failed)));

    /// <summary>The JSON name of a resource state.</summary>
    public static string Name(ResourceState state) => state switch
    {
        ResourceState.InSync => "in-sync",
        ResourceState.Changed => "changed",
        ResourceState.WouldChange => "would-change",
        ResourceState.Failed => "failed",
        ResourceState.Skipped => "skipped",
        _ => "unknown",
    };
}
