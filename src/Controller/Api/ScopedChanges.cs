using Hawser.Controller.Acme;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store;

namespace Hawser.Controller.Api;

/// <summary>
/// Whether a change asked by an operator scoped by a selector stays within its scope: the same checks for hawserctl's gRPC
/// calls and the web UI's, so neither lets a scoped operator move a node the other would refuse. Each answers null (within,
/// or the caller is not scoped) or why not, naming the nodes.
/// </summary>
public sealed class ScopedChanges(ControllerStore store, DesiredStates desired, CertificateRenewer renewer)
{
    /// <summary>A rollout to <paramref name="revision"/> gives each node that revision's state: a node outside the scope must already have it.</summary>
    public async Task<string?> RolloutStartAsync(OperatorRecord? caller, ulong revision, CancellationToken cancellationToken)
    {
        if (caller is not { IsScoped: true } || await store.Revisions.GetAsync(revision, cancellationToken) is not { } target)
        {
            return null; // a revision that does not exist is the engine's to refuse
        }
        var targetNodes = desired.Nodes(target);
        var changed = new List<NodeRecord>();
        // Each revision the fleet holds is read once, however many nodes hold it.
        foreach (var holding in (await store.Nodes.ListWithoutReportsAsync(cancellationToken)).GroupBy(n => n.DesiredRevision))
        {
            var held = await store.Revisions.GetAsync(holding.Key, cancellationToken) is { } holdingRevision ? desired.Nodes(holdingRevision) : null;
            changed.AddRange(holding.Where(node => held?.GetValueOrDefault(node.Name) != targetNodes.GetValueOrDefault(node.Name)));
        }
        return OperatorScope.CheckNodes(caller, changed, $"a rollout to revision {revision} changes");
    }

    /// <summary>Pausing, resuming, promoting, rolling back or aborting a rollout acts on all its nodes: all must be in the scope.</summary>
    public async Task<string?> RolloutControlAsync(OperatorRecord? caller, ulong id, CancellationToken cancellationToken)
    {
        if (caller is not { IsScoped: true } || await store.Rollouts.GetAsync(id, cancellationToken) is not { } rollout)
        {
            return null;
        }
        var moving = rollout.Nodes.Select(n => n.Node).ToHashSet(StringComparer.Ordinal);
        return OperatorScope.CheckNodes(caller, (await store.Nodes.ListWithoutReportsAsync(cancellationToken)).Where(n => moving.Contains(n.Name)), $"rollout {id} moves");
    }

    /// <summary>A renewal reloads every node the certificate is on: all must be in the scope.</summary>
    public async Task<string?> RenewAsync(OperatorRecord? caller, string name, CancellationToken cancellationToken)
    {
        if (caller is not { IsScoped: true } || ((await renewer.CurrentPlanAsync(cancellationToken))?.Targets ?? []).FirstOrDefault(t => t.Name == name) is not { } target)
        {
            return null;
        }
        var on = target.Nodes.ToHashSet(StringComparer.Ordinal);
        return OperatorScope.CheckNodes(caller, (await store.Nodes.ListWithoutReportsAsync(cancellationToken)).Where(n => on.Contains(n.Name)),
            $"certificate '{name}' is installed on");
    }
}
