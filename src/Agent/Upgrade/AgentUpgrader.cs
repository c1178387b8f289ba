using Hawser.Agent.Reconcile;

namespace Hawser.Agent.Upgrade;

/// <summary>A fleet agent's releases: downloaded over its stream, switched to when it runs from a native binary.</summary>
public sealed class AgentUpgrader(ReleaseDownloader downloader, AgentSwitch? switcher, bool trial) : IAgentReleases
{
    /// <inheritdoc/>
    public async Task<StagedRelease> StageAsync(string version, CancellationToken cancellationToken)
    {
        if (switcher?.FailureFor(version) is var (failure, retryAt))
        {
            // Tried and failed not long ago: said again rather than tried in a loop (each try pauses the stream).
            throw new ResourceException($"agent {version}: {failure}; still running {AgentBuild.Version} (tried again from {retryAt.UtcDateTime:yyyy-MM-dd HH:mm}Z)");
        }
        return await downloader.StageAsync(version, cancellationToken);
    }

    /// <inheritdoc/>
    public Task SwitchAsync(StagedRelease staged, CancellationToken cancellationToken) =>
        trial ? throw new ResourceException($"agent {staged.Version}: this is a trial start of {AgentBuild.Version}, which never switches itself")
        : switcher is null
        ? throw new ResourceException($"agent {staged.Version}: verified at {staged.Path}, but this agent runs on dotnet (a development build): only a release binary switches itself")
        : switcher.SwitchAsync(staged, cancellationToken);
}
