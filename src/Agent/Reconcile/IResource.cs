namespace Hawser.Agent.Reconcile;

/// <summary>
/// One thing on the host the agent keeps in line with the spec. <see cref="PlanAsync"/> only reads;
/// <see cref="ApplyAsync"/> changes the host. After applying, the engine plans again: a resource is in
/// sync only when its own reading of the host shows no difference, which is the verification.
/// </summary>
public interface IResource
{
    /// <summary>Stable id, <c>kind:name</c>, e.g. <c>sysctl:net.core.default_qdisc</c>.</summary>
    string Id { get; }

    /// <summary>Ids this resource needs in sync first; if one fails, this one is skipped.</summary>
    IReadOnlyList<string> DependsOn { get; }

    /// <summary>Reads the host and says what differs; never writes.</summary>
    Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken);

    /// <summary>Makes the host match <paramref name="plan"/>, recording in the state what it replaced.</summary>
    Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken);
}

/// <summary>One difference: what, from which value to which (null: absent).</summary>
public sealed record Change(string Target, string? From, string? To);

/// <summary>A resource's reading of the host.</summary>
public sealed record ResourcePlan
{
    /// <summary>What differs; empty means in sync.</summary>
    public IReadOnlyList<Change> Changes { get; init; } = [];

    /// <summary>Things the operator should know that do not stop the resource.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>True when nothing differs.</summary>
    public bool InSync => Changes.Count == 0;

    /// <summary>A plan with no differences.</summary>
    public static ResourcePlan Synced(IReadOnlyList<string>? warnings = null) => new() { Warnings = warnings ?? [] };
}

/// <summary>A resource cannot be planned or applied, for a reason the operator can act on.</summary>
public sealed class ResourceException(string message, Exception? inner = null) : Exception(message, inner);
