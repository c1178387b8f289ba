using Hawser.Agent.Reconcile;
using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.Agent;

namespace Hawser.Agent.Kinds.Agent;

/// <summary>The agent release this node runs: one resource when the spec names a version.</summary>
public sealed class AgentResourceKind : IResourceKind
{
    /// <inheritdoc/>
    public ISpecKind Spec => AgentKind.Instance;

    /// <inheritdoc/>
    public void AddResources(ResourceBlocks blocks, KindContext context, List<IResource> resources)
    {
        if (blocks.Agent is { } agent)
        {
            resources.Add(new AgentReleaseResource(agent.Version, context.Releases));
        }
    }
}
