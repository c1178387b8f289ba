using Hawser.Agent.Reconcile;
using Hawser.Agent.State;
using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.NdpProxy;
using Hawser.Shared.Spec.Kinds.Sysctls;

namespace Hawser.Agent.Kinds.NdpProxy;

/// <summary>
/// NDP proxying on this host: ndppd's config and daemon for prefixes, kernel proxy entries for single
/// addresses, and the kernel parameters both need.
/// </summary>
public sealed class NdpProxyResourceKind : IResourceKind
{
    /// <inheritdoc/>
    public ISpecKind Spec => NdpProxyKind.Instance;

    private static string ProxyNdpKey(string iface) => $"net.ipv6.conf.{iface}.proxy_ndp";

    private static string ForwardingKey(string iface) => $"net.ipv6.conf.{iface}.forwarding";

    private static bool ForwardsEverywhere(ResourceBlocks blocks) => blocks.Sysctls?.GetValueOrDefault("net.ipv6.conf.all.forwarding") == "1";

    /// <inheritdoc/>
    public IEnumerable<KeyValuePair<string, string>> RequiredSysctls(ResourceBlocks blocks)
    {
        if (blocks.NdpProxy is not { } ndp)
        {
            yield break;
        }
        // ndppd and kernel proxy entries both need the kernel to pass solicitations up.
        yield return new(ProxyNdpKey(ndp.Interface), "1");
        // The kernel answers for proxy entries only on an interface that forwards.
        if (ndp.Addresses.Count > 0 && !ForwardsEverywhere(blocks))
        {
            yield return new(ForwardingKey(ndp.Interface), "1");
        }
    }

    /// <inheritdoc/>
    public void AddResources(ResourceBlocks blocks, KindContext context, List<IResource> resources)
    {
        if (blocks.NdpProxy is not { } ndp)
        {
            return;
        }
        string[] needs = [$"sysctl:{ProxyNdpKey(ndp.Interface)}"];
        if (ndp.Mode == "ndppd" && ndp.Rules.Count > 0)
        {
            resources.Add(new NdppdResource(context.Config.NdppdConfig, ndp, needs));
        }
        if (ndp.Addresses.Count > 0)
        {
            var forwarding = ForwardsEverywhere(blocks) ? "all" : ndp.Interface;
            resources.Add(new KernelNdpProxyResource(ndp.Interface, ndp.Addresses, [.. needs, $"sysctl:{ForwardingKey(forwarding)}"]));
        }
    }

    /// <inheritdoc/>
    public void AddRestores(ResourceBlocks blocks, KindContext context, IReadOnlySet<string> built, List<IResource> resources)
    {
        foreach (var record in context.State.KernelProxies.Values.Where(r => !built.Contains(r.Owner)))
        {
            resources.Add(new RemoveKernelProxyResource(record));
        }
    }

    /// <inheritdoc/>
    public Func<ResourceContext, CancellationToken, Task>? AfterRestore(string hostPath, FileRecord record, KindContext context)
    {
        if (hostPath != context.Config.NdppdConfig)
        {
            return null;
        }
        return record.Original is null
            ? (resourceContext, token) => resourceContext.Services.StopAsync(NdppdResource.ServiceName, token)
            : (resourceContext, token) => resourceContext.Services.RestartAsync(NdppdResource.ServiceName, token);
    }
}
