using Hawser.Shared.Protocol.V1;

namespace Hawser.Shared.Protocol;

/// <summary>The words hawserctl and the web UI both use for node and resource states, so they never disagree.</summary>
public static class StateWords
{
    /// <summary>
    /// in-sync, pending (applied is not what it should run), failed, offline, or new (never reported). <paramref name="desired"/>
    /// is the revision that numbers the state the node should run, a rollout's pin included (a pinned revision that changed
    /// nothing on the node is numbered by the one before it).
    /// </summary>
    public static string Node(bool connected, bool reported, bool anyFailed, ulong applied, ulong desired) =>
        !connected ? "offline"
        : !reported ? "new"
        : anyFailed ? "failed"
        : applied != desired ? "pending"
        : "in-sync";

    /// <summary>A node whose agent's version the controller refuses (<see cref="VersionSkew"/>): it gets nothing until one side is upgraded.</summary>
    public const string Incompatible = "incompatible";

    /// <summary>True when a converge left its revision applied: every resource in sync or changed (agent and controller count it alike).</summary>
    public static bool IsApplied(StatusReport report) => report.Resources.All(r => r.State is ResourceState.InSync or ResourceState.Changed);

    /// <summary>How the agent's error begins for a certificate whose PEM material it does not have (yet).</summary>
    public const string NoCertificateMaterial = "no PEM material";

    /// <summary>
    /// True for a certificate resource that failed only for want of its material: under a controller, one the controller
    /// is still obtaining (it sends it on once issued), so a wait for the node goes on.
    /// </summary>
    public static bool AwaitsCertificateMaterial(ResourceStatus resource) =>
        resource.Kind == "certificate" && IsFailed(resource.State) && resource.Error.StartsWith(NoCertificateMaterial, StringComparison.Ordinal);

    /// <summary>True for the states that count as a failed resource (failed, or skipped because a dependency failed).</summary>
    public static bool IsFailed(ResourceState state) => state is ResourceState.Failed or ResourceState.Skipped;

    /// <summary>How many of <paramref name="resources"/> are in each state.</summary>
    public static ResourceStateCounts Count(IEnumerable<ResourceStatus> resources)
    {
        var counts = new ResourceStateCounts();
        foreach (var resource in resources)
        {
            switch (resource.State)
            {
                case ResourceState.InSync: counts.InSync++; break;
                case ResourceState.Changed: counts.Changed++; break;
                case ResourceState.Failed: counts.Failed++; break;
                case ResourceState.Skipped: counts.Skipped++; break;
                default: counts.Other++; break;
            }
        }
        return counts;
    }

    /// <summary>The JSON name of a resource state.</summary>
    public static string Resource(ResourceState state) => state switch
    {
        ResourceState.InSync => "in-sync",
        ResourceState.Changed => "changed",
        ResourceState.WouldChange => "would-change",
        ResourceState.Failed => "failed",
        ResourceState.Skipped => "skipped",
        _ => "unknown",
    };
}
