using Hawser.Agent.Reconcile;
using Hawser.Agent.State;
using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.Ufw;

namespace Hawser.Agent.Kinds.Ufw;

/// <summary>ufw's forward policy on this host; a restored /etc/default/ufw is reloaded into a running ufw.</summary>
public sealed class UfwResourceKind : IResourceKind
{
    /// <inheritdoc/>
    public ISpecKind Spec => UfwKind.Instance;

    /// <inheritdoc/>
    public void AddResources(ResourceBlocks blocks, KindContext context, List<IResource> resources)
    {
        if (blocks.Ufw is { } ufw)
        {
            resources.Add(new UfwForwardPolicyResource(ufw.ForwardPolicy));
        }
    }

    /// <inheritdoc/>
    public Func<ResourceContext, CancellationToken, Task>? AfterRestore(string hostPath, FileRecord record, KindContext context) =>
        hostPath == UfwForwardPolicyResource.DefaultsFile ? UfwForwardPolicyResource.ReloadIfActiveAsync : null;
}
