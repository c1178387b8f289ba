namespace Hawser.Shared.Spec;

/// <summary>
/// The two merge rules a kind picks from. The node's own value always wins; two matching profiles that
/// set one key or block differently are a conflict, never a silent winner.
/// </summary>
public static class SpecMerge
{
    /// <summary>Entry by entry (sysctls by key, certificates by name): each entry follows the rule on its own.</summary>
    public static Dictionary<string, T>? ByKey<T>(IEnumerable<(string Profile, IReadOnlyDictionary<string, T> Values)> fromProfiles,
        IReadOnlyDictionary<string, T>? fromNode, Func<T, T, bool> equal, string kind, List<string> conflicts)
        where T : notnull
    {
        Dictionary<string, T>? merged = null;
        var setBy = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (profile, values) in fromProfiles)
        {
            merged ??= new Dictionary<string, T>(StringComparer.Ordinal);
            foreach (var (key, value) in values)
            {
                if (merged.TryGetValue(key, out var earlier) && !equal(earlier, value)
                    && fromNode?.ContainsKey(key) != true)
                {
                    conflicts.Add($"{kind} '{key}' is set differently by profiles '{setBy[key]}' and '{profile}'; set it on the node to decide");
                    continue;
                }
                merged[key] = value;
                setBy.TryAdd(key, profile);
            }
        }
        if (fromNode is not null)
        {
            merged ??= new Dictionary<string, T>(StringComparer.Ordinal);
            foreach (var (key, value) in fromNode)
            {
                merged[key] = value;
            }
        }
        return merged;
    }

    /// <summary>The block as one unit: the node's, else the profiles' if they agree.</summary>
    public static T? Whole<T>(IEnumerable<(string Profile, T Block)> fromProfiles, T? fromNode, string kind, List<string> conflicts,
        Func<T, T, bool>? equal = null)
        where T : class
    {
        if (fromNode is not null)
        {
            return fromNode;
        }
        equal ??= (a, b) => a.Equals(b);
        (string Profile, T Block)? chosen = null;
        foreach (var (profile, block) in fromProfiles)
        {
            if (chosen is null)
            {
                chosen = (profile, block);
            }
            else if (!equal(chosen.Value.Block, block))
            {
                conflicts.Add($"{kind} is set differently by profiles '{chosen.Value.Profile}' and '{profile}'; set it on the node to decide");
            }
        }
        return chosen?.Block;
    }

    /// <summary>Lists compared by content (records compare list members by reference).</summary>
    public static bool SameList<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b) =>
        a is null ? b is null : b is not null && a.SequenceEqual(b);
}
