using Hawser.Agent.Reconcile;
using Hawser.Agent.Upgrade;

namespace Hawser.Agent.Kinds.Agent;

/// <summary>
/// The agent release the node should run. In sync when this binary is that release; otherwise the release is downloaded
/// from the controller and verified beside the agent's state, tried, and switched to (<see cref="AgentSwitch"/>).
/// </summary>
public sealed class AgentReleaseResource(string version, IAgentReleases? releases) : IResource
{
    /// <inheritdoc/>
    public string Id => "agent:release";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    /// <inheritdoc/>
    public Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken) =>
        Task.FromResult(AgentBuild.Version == version ? ResourcePlan.Synced() : new ResourcePlan { Changes = [new Change("agent release", AgentBuild.Version, version)] });

    /// <inheritdoc/>
    public async Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        if (releases is null)
        {
            throw new ResourceException($"agent {version}: releases come from a controller; in local mode replace the binary by hand (this one is {AgentBuild.Version})");
        }
        var staged = await releases.StageAsync(version, cancellationToken);
        // Returns only when the switch failed (it throws why); when it works this process is already the new binary.
        await releases.SwitchAsync(staged, cancellationToken);
    }
}
