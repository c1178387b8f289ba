using Hawser.Agent.Reconcile;
using Hawser.Agent.Resources;
using Hawser.Agent.State;

namespace Hawser.Agent.Kinds.Sysctls;

/// <summary>Puts a kernel parameter back to the value it had before the agent first set it.</summary>
public sealed class RestoreSysctlResource(string key, SysctlRecord record) : IRestoreResource
{
    /// <inheritdoc/>
    public string Id => $"restore:sysctl:{key}";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    /// <inheritdoc/>
    public Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var path = context.Paths.SysctlFile(key);
        if (!File.Exists(path))
        {
            return Task.FromResult(ResourcePlan.Synced([$"{key} no longer exists here; nothing to restore"]));
        }
        var current = File.ReadAllText(path).TrimEnd('\n');
        return Task.FromResult(SysctlResource.Normalize(current) == SysctlResource.Normalize(record.Previous)
            ? ResourcePlan.Synced()
            : new ResourcePlan { Changes = [new Change(path, current, record.Previous)] });
    }

    /// <inheritdoc/>
    public Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        SysctlResource.Write(context, key, record.Previous);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public void Forget(AgentState state) => state.Sysctls.Remove(key);
}
