namespace Hawser.Shared.Spec;

/// <summary>A node's effective blocks, or why they cannot be decided.</summary>
public sealed record ResolvedNode(string Name, ResourceBlocks Blocks, IReadOnlyList<string> Profiles, IReadOnlyList<string> Conflicts)
{
    /// <summary>True when no two profiles disagree about a setting the node does not decide itself.</summary>
    public bool IsValid => Conflicts.Count == 0;
}

/// <summary>
/// Merges the profiles that select a node with the node's own blocks, each kind by its own rule
/// (<see cref="SpecMerge"/>: sysctls key by key, certificates by name, other blocks whole). The node's
/// own value always wins. Two matching profiles that set one key or block differently are a conflict,
/// never a silent winner.
/// </summary>
public static class SpecResolver
{
    /// <summary>Resolves <paramref name="nodeName"/>; throws when the spec has no such node.</summary>
    public static ResolvedNode Resolve(SpecDocument spec, string nodeName)
    {
        if (!spec.Nodes.TryGetValue(nodeName, out var node))
        {
            throw new KeyNotFoundException($"the spec has no node '{nodeName}'; it has: {string.Join(", ", spec.Nodes.Keys.Order(StringComparer.Ordinal))}");
        }
        var matched = spec.Profiles
            .Where(p => p.Value.Selects(node.Labels))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .ToList();
        var conflicts = new List<string>();
        var blocks = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var kind in SpecKinds.All)
        {
            List<(string, object)> fromProfiles = [.. matched.Select(p => (p.Key, Block: p.Value.Blocks.Get(kind))).Where(p => p.Block is not null).Select(p => (p.Key, p.Block!))];
            if (kind.Merge(fromProfiles, node.Blocks.Get(kind), conflicts) is { } merged)
            {
                blocks[kind.Key] = merged;
            }
        }
        return new ResolvedNode(nodeName, new ResourceBlocks(blocks), [.. matched.Select(p => p.Key)], conflicts);
    }
}
