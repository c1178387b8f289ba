using Hawser.Agent.Configuration;
using Hawser.Agent.HostServices;
using Hawser.Agent.State;
using Hawser.Shared.HostAccess;
using Hawser.Shared.Spec;

namespace Hawser.Agent.Reconcile;

/// <summary>
/// The agent half of a resource kind: the resources its block becomes on this host and the undo of what
/// it did for a block that is gone. Each kind lives in its own folder under <c>Kinds/</c> beside its
/// resources and is listed once in <see cref="Kinds.ResourceKinds.All"/>.
/// </summary>
public interface IResourceKind
{
    /// <summary>The spec half: the block's key, reading, merging and node text.</summary>
    ISpecKind Spec { get; }

    /// <summary>Kernel parameters this kind needs besides the spec's own sysctls (they win), e.g. NDP's proxy_ndp.</summary>
    IEnumerable<KeyValuePair<string, string>> RequiredSysctls(ResourceBlocks blocks) => [];

    /// <summary>Adds the resources for the node's blocks, in dependency order; called for every kind, its block set or not.</summary>
    void AddResources(ResourceBlocks blocks, KindContext context, List<IResource> resources);

    /// <summary>Adds the undo of what the state records for this kind that no resource in <paramref name="built"/> owns any more.</summary>
    void AddRestores(ResourceBlocks blocks, KindContext context, IReadOnlySet<string> built, List<IResource> resources)
    {
    }

    /// <summary>What must hear that a file this kind wrote was put back (a service restart); null for nothing.</summary>
    Func<ResourceContext, CancellationToken, Task>? AfterRestore(string hostPath, FileRecord record, KindContext context) => null;
}

/// <summary>What a kind builds its resources with.</summary>
public sealed record KindContext(AgentConfig Config, HostPaths Paths, AgentState State, WritableArea Area, string SpecDirectory)
{
    /// <summary>Every kernel parameter the converge sets: the spec's sysctls over what the kinds require.</summary>
    public IReadOnlyDictionary<string, string> Sysctls { get; init; } = new Dictionary<string, string>();

    /// <summary>Agent releases from the controller; null in local mode.</summary>
    public Upgrade.IAgentReleases? Releases { get; init; }
}
