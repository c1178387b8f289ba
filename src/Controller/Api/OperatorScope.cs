using Hawser.Controller.Sessions;
using Hawser.Controller.Store;

namespace Hawser.Controller.Api;

/// <summary>
/// What an operator scoped by a selector may change: the desired state of nodes in its scope only. A node is in scope when
/// its labels match the selector both before and after the change, so relabelling a node cannot bring it in.
/// </summary>
public static class OperatorScope
{
    /// <summary>Nodes named in a refusal before the rest are counted.</summary>
    private const int Named = 10;

    /// <summary>
    /// Why the change is refused (null when it is not), naming the nodes outside <paramref name="scoped"/>'s scope whose state
    /// <paramref name="next"/> changes from <paramref name="current"/> (null: no revision yet), or that it adds or removes.
    /// </summary>
    public static string? CheckApply(OperatorRecord scoped, ResolvedSpec? current, ResolvedSpec next)
    {
        // The ACME account is the whole fleet's: which CA, which contact, DNS-01's zone and key.
        if (current?.Plan.Acme != next.Plan.Acme)
        {
            return $"operator '{scoped.Name}' is scoped to {scoped.Scope}, but this apply changes the spec's acme settings, which serve every node; " +
                "only an operator of all nodes may change them; nothing was stored";
        }
        // A node's resolved state includes the certificates it installs (their domains, key, challenge): changing one that is
        // also on a node outside the scope changes that node.
        var outside = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in next.Nodes.Keys.Union(current?.Nodes.Keys ?? []))
        {
            var before = current?.Nodes.GetValueOrDefault(name);
            var after = next.Nodes.GetValueOrDefault(name);
            if (before == after)
            {
                continue;
            }
            if (!InScope(scoped, current?.Labels.GetValueOrDefault(name)) || !InScope(scoped, next.Labels.GetValueOrDefault(name)))
            {
                outside.Add(name);
            }
        }
        return Problem(scoped, outside, "this apply changes");
    }

    /// <summary>Why the change is refused, naming <paramref name="nodes"/> that lie outside <paramref name="scoped"/>'s scope; null when none does.</summary>
    public static string? CheckNodes(OperatorRecord scoped, IEnumerable<NodeRecord> nodes, string what) =>
        Problem(scoped, new SortedSet<string>(nodes.Where(n => !scoped.Sees(n.Labels)).Select(n => n.Name), StringComparer.Ordinal), what);

    /// <summary>
    /// Which nodes the caller may see, by name: null for an operator of every node (or a call without one); for one scoped by
    /// a selector, the nodes whose labels it matches now (read once per call).
    /// </summary>
    public static Task<Func<string, bool>?> VisibleNodesAsync(ControllerStore store, Grpc.Core.ServerCallContext context) =>
        VisibleNodesAsync(store, context.UserState.ContainsKey(CallerIdentity.OperatorStateKey) ? CallerIdentity.OperatorOf(context) : null, context.CancellationToken);

    /// <summary>As for a gRPC call, for <paramref name="caller"/> (null: a caller of every node, such as the break-glass login).</summary>
    public static async Task<Func<string, bool>?> VisibleNodesAsync(ControllerStore store, OperatorRecord? caller, CancellationToken cancellationToken)
    {
        if (caller is not { IsScoped: true } scoped)
        {
            return null;
        }
        var seen = (await store.Nodes.ListWithoutReportsAsync(cancellationToken)).Where(n => scoped.Sees(n.Labels)).Select(n => n.Name)
            .ToHashSet(StringComparer.Ordinal);
        return seen.Contains;
    }

    private static bool InScope(OperatorRecord scoped, IReadOnlyDictionary<string, string>? labels) => labels is null || scoped.Sees(labels);

    private static string? Problem(OperatorRecord scoped, SortedSet<string> outside, string what)
    {
        if (outside.Count == 0)
        {
            return null;
        }
        var names = string.Join(", ", outside.Take(Named)) + (outside.Count > Named ? $" and {outside.Count - Named} more" : "");
        return $"operator '{scoped.Name}' is scoped to {scoped.Scope}, but {what} {(outside.Count == 1 ? "node" : "nodes")} {names} outside it; nothing was stored";
    }
}
