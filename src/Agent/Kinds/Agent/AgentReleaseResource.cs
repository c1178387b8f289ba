using Hawser.Agent.Reconcile;
using Hawser.Agent.Upgrade;

namespace Hawser.Agent.Kinds.Agent;

/// <summary>
/// The agent release the node should run. In sync when this binary is that release; otherwise the release is downloaded
/// from the controller and verified beside the agent's state. Switching the running agent to it (a trial start, then the
/// rename, and the way back) is not built yet: the resource then fails, saying so, with the verified binary's path.
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
        throw new ResourceException($"agent {version}: downloaded and verified ({staged.Size} bytes, SHA-256 {staged.Sha256}) at {staged.Path}; " +
            $"switching the running agent to it is not built yet: install it by hand (this one is {AgentBuild.Version})");
    }
}
