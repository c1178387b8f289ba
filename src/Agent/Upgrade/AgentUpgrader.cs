using Hawser.Agent.Reconcile;

namespace Hawser.Agent.Upgrade;

/// <summary>A fleet agent's releases: downloaded over its stream, switched to when it runs from a native binary.</summary>
public sealed class AgentUpgrader(ReleaseDownloader downloader, AgentSwitch? switcher, bool trial) : IAgentReleases
{
    /// <inheritdoc/>
    public async Task<StagedRelease> StageAsync(string version, CancellationToken cancellationToken)
    {
        if (switcher?.Package is { } package)
        {
            // Said before anything is fetched: the package manager owns this binary (and dpkg's record of it).
            throw new ResourceException($"agent {version}: this agent runs from a file of the Debian package {package}; upgrade it with the package " +
                $"manager (apt install ./hawser-agent_{version}_*.deb from the release), not through the controller; still running {AgentBuild.Version}");
        }
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
