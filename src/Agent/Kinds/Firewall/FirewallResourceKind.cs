using System.Text;
using Hawser.Agent.Reconcile;
using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.Firewall;

namespace Hawser.Agent.Kinds.Firewall;

/// <summary>
/// Firewall rules on this host, through ufw. With the block gone, Hawser's rules still in ufw's files
/// (found by their comment) are removed; rules Hawser did not make are never touched.
/// </summary>
public sealed class FirewallResourceKind : IResourceKind
{
    /// <inheritdoc/>
    public ISpecKind Spec => FirewallKind.Instance;

    /// <inheritdoc/>
    public void AddResources(ResourceBlocks blocks, KindContext context, List<IResource> resources)
    {
        if (blocks.Firewall is { } firewall)
        {
            resources.Add(new UfwRulesResource(firewall.Rules));
        }
    }

    /// <inheritdoc/>
    public void AddRestores(ResourceBlocks blocks, KindContext context, IReadOnlySet<string> built, List<IResource> resources)
    {
        if (blocks.Firewall is null && UfwRulesResource.RuleFiles.Any(file => HoldsOwnRules(context, file)))
        {
            resources.Add(new UfwRulesResource([]));
        }
    }

    private static bool HoldsOwnRules(KindContext context, string hostPath)
    {
        var path = context.Area.ForRead(hostPath);
        return File.Exists(path) && File.ReadAllText(path, Encoding.UTF8).Contains(UfwRulesResource.MarkerInRuleFile, StringComparison.Ordinal);
    }
}
