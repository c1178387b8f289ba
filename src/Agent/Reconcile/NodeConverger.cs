using Hawser.Agent.Configuration;
using Hawser.Agent.Docker;
using Hawser.Agent.HostServices;
using Hawser.Agent.Resources;
using Hawser.Agent.State;
using Hawser.Shared.HostAccess;
using Hawser.Shared.Spec;

namespace Hawser.Agent.Reconcile;

/// <summary>
/// One converge of this host to a node's blocks: load the state, build the resources, run them,
/// forget the undo records that are done, and save the state only when it changed.
/// </summary>
public sealed class NodeConverger(AgentConfig config, HostPaths paths, ICommandRunner runner, Func<DockerEngineClient> docker)
{
    /// <summary>Agent releases from the controller (a fleet agent); null in local mode.</summary>
    public Upgrade.IAgentReleases? Releases { get; init; }

    /// <summary>Converges; <paramref name="started"/> hears how many resources will run, <paramref name="progress"/> each report.</summary>
    public async Task<ConvergeReport> ConvergeAsync(ResourceBlocks blocks, string specDirectory, bool dryRun, CancellationToken cancellationToken,
        Action<int>? started = null, Action<ResourceReport>? progress = null)
    {
        var state = AgentState.Load(paths);
        var before = state.ToBytes();
        var resources = new ResourceSetBuilder(config, paths, state, specDirectory, Releases).Build(blocks);
        started?.Invoke(resources.Count);
        var context = new ResourceContext(paths, WritableArea.For(config, paths), runner, AgentConfigLoader.CreateServiceManager(config, runner), state, docker);
        var report = await Reconciler.ConvergeAsync(resources, context, dryRun, cancellationToken, progress) with { Served = [.. context.Served.Values] };
        if (dryRun)
        {
            return report;
        }
        foreach (var restore in resources.OfType<IRestoreResource>())
        {
            if (report.Resources.Single(r => r.Id == restore.Id).Outcome is ResourceOutcome.InSync or ResourceOutcome.Changed)
            {
                restore.Forget(state);
            }
        }
        // Compared with what was loaded, unless a resource saved mid-run (e.g. a pending reload, cleared
        // again since): then the file holds that intermediate state and must be brought up to date.
        if (context.SavedDuringRun || !state.ToBytes().AsSpan().SequenceEqual(before))
        {
            try
            {
                state.Save(paths);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Every change was recorded before it was made; what is lost here is only bookkeeping
                // (finished undos, cleared reloads), redone by the next run.
                var failure = new ResourceReport($"state:{paths.StateFile}", ResourceOutcome.Failed, [], [], $"could not save the agent's state: {ex.Message}");
                progress?.Invoke(failure);
                return report with { Resources = [.. report.Resources, failure] };
            }
        }
        return report;
    }
}
