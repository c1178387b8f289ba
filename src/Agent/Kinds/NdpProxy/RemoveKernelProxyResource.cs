using System.Net;
using Hawser.Agent.Reconcile;
using Hawser.Agent.Resources;
using Hawser.Agent.State;

namespace Hawser.Agent.Kinds.NdpProxy;

/// <summary>Removes a kernel NDP proxy entry the agent added for a block that is gone.</summary>
public sealed class RemoveKernelProxyResource(KernelProxyRecord record) : IRestoreResource
{
    private readonly IPAddress _address = IPAddress.Parse(record.Address);

    /// <inheritdoc/>
    public string Id => $"restore:ndp-proxy:{record.Interface}:{record.Address}";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    /// <inheritdoc/>
    public async Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var present = await KernelNdpProxyResource.ListAsync(context, record.Interface, cancellationToken);
        return present.Contains(_address)
            ? new ResourcePlan { Changes = [new Change($"proxy {record.Address} dev {record.Interface}", "present", null)] }
            : ResourcePlan.Synced();
    }

    /// <inheritdoc/>
    public Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken) =>
        KernelNdpProxyResource.RemoveAsync(context, record.Interface, _address, cancellationToken);

    /// <inheritdoc/>
    public void Forget(AgentState state) => state.KernelProxies.Remove(KernelNdpProxyResource.Key(record.Interface, _address));
}
