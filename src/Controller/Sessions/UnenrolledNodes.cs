using Hawser.Controller.Store;

namespace Hawser.Controller.Sessions;

/// <summary>A node the newest revision names that no agent enrolled as (a typo, a host not joined yet), or one that was removed.</summary>
/// <param name="Name">The name the spec gives.</param>
/// <param name="Removed">It was enrolled once and removed (<c>node remove</c>).</param>
/// <param name="Nearest">The enrolled name one or two edits away, for a typo; null when none is.</param>
public sealed record UnenrolledNodeRecord(string Name, bool Removed, string? Nearest);

/// <summary>Finds the named nodes nobody enrolled, the same way for apply, status and the web UI.</summary>
public static class UnenrolledNodes
{
    /// <summary>The names of <paramref name="named"/> with no enrolled node, in name order.</summary>
    public static async Task<List<UnenrolledNodeRecord>> FindAsync(ControllerStore store, IEnumerable<string> named, IReadOnlyList<NodeRecord> enrolled,
        CancellationToken cancellationToken)
    {
        var names = enrolled.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var missing = new List<UnenrolledNodeRecord>();
        foreach (var name in named.Where(n => !names.Contains(n)).Order(StringComparer.Ordinal))
        {
            var removed = await store.Events.ListAsync(new EventQuery { Node = name, Kind = "node.removed", Limit = 1 }, cancellationToken);
            missing.Add(new UnenrolledNodeRecord(name, removed.Count > 0, Shared.Cli.NearestName.Of(names, name)));
        }
        return missing;
    }

    /// <summary>
    /// As <see cref="FindAsync"/> for the nodes the newest revision names whose labels <paramref name="sees"/> lets through
    /// (a scoped operator sees its own); none when there is no revision or it no longer validates.
    /// </summary>
    public static async Task<List<UnenrolledNodeRecord>> OfNewestAsync(ControllerStore store, DesiredStates desired, IReadOnlyList<NodeRecord> enrolled,
        Func<IReadOnlyDictionary<string, string>, bool> sees, CancellationToken cancellationToken)
    {
        if (await store.Revisions.LatestAsync(cancellationToken) is not { } latest)
        {
            return [];
        }
        ResolvedSpec spec;
        try
        {
            spec = desired.Resolved(latest);
        }
        catch (InvalidOperationException)
        {
            return [];
        }
        return await FindAsync(store, spec.Nodes.Keys.Where(n => spec.Labels.TryGetValue(n, out var labels) && sees(labels)), enrolled, cancellationToken);
    }
}
