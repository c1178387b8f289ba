namespace Hawser.Shared.Spec;

/// <summary>A node's effective blocks, or why they cannot be decided.</summary>
public sealed record ResolvedNode(string Name, ResourceBlocks Blocks, IReadOnlyList<string> Profiles, IReadOnlyList<string> Conflicts)
{
    /// <summary>True when no two profiles disagree about a setting the node does not decide itself.</summary>
    public bool IsValid => Conflicts.Count == 0;
}

/// <summary>
/// Merges the profiles that select a node with the node's own blocks. Sysctls merge key by key and
/// certificates by name; the other blocks are whole units. The node's own value always wins. Two
/// matching profiles that set one key or block differently are a conflict, never a silent winner.
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

        var sysctls = MergeKeys(matched.Select(p => (p.Key, p.Value.Blocks.Sysctls)), node.Blocks.Sysctls, string.Equals, "sysctl", conflicts);
        var certificates = MergeKeys(
            matched.Select(p => (p.Key, p.Value.Blocks.Certificates?.ToDictionary(c => c.Name, StringComparer.Ordinal) as IReadOnlyDictionary<string, CertificateSpec>)),
            node.Blocks.Certificates?.ToDictionary(c => c.Name, StringComparer.Ordinal), CertificateEquals, "certificate", conflicts);

        var blocks = new ResourceBlocks
        {
            Sysctls = sysctls,
            Ufw = Whole(matched.Select(p => (p.Key, p.Value.Blocks.Ufw)), node.Blocks.Ufw, "ufw", conflicts),
            NdpProxy = Whole(matched.Select(p => (p.Key, p.Value.Blocks.NdpProxy)), node.Blocks.NdpProxy, "ndpProxy", conflicts, NdpEquals),
            Docker = Whole(matched.Select(p => (p.Key, p.Value.Blocks.Docker)), node.Blocks.Docker, "docker", conflicts, DockerEquals),
            Certificates = certificates?.Values.OrderBy(c => c.Name, StringComparer.Ordinal).ToList(),
        };
        return new ResolvedNode(nodeName, blocks, [.. matched.Select(p => p.Key)], conflicts);
    }

    private static Dictionary<string, T>? MergeKeys<T>(IEnumerable<(string Profile, IReadOnlyDictionary<string, T>? Values)> fromProfiles,
        IReadOnlyDictionary<string, T>? fromNode, Func<T, T, bool> equal, string kind, List<string> conflicts)
        where T : notnull
    {
        Dictionary<string, T>? merged = null;
        var setBy = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (profile, values) in fromProfiles)
        {
            if (values is null)
            {
                continue;
            }
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

    private static T? Whole<T>(IEnumerable<(string Profile, T? Block)> fromProfiles, T? fromNode, string kind, List<string> conflicts,
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
            if (block is null)
            {
                continue;
            }
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

    // Records with list members compare lists by reference; these compare them by content.
    private static bool NdpEquals(NdpProxySpec a, NdpProxySpec b) =>
        a.Interface == b.Interface && a.Mode == b.Mode && a.Rules.SequenceEqual(b.Rules) && a.Addresses.SequenceEqual(b.Addresses);

    private static bool DockerEquals(DockerSpec a, DockerSpec b) =>
        (a.Daemon, b.Daemon) switch
        {
            (null, null) => true,
            ({ } x, { } y) => x with { DefaultAddressPools = null } == y with { DefaultAddressPools = null }
                && SameList(x.DefaultAddressPools, y.DefaultAddressPools),
            _ => false,
        } && a.Networks.SequenceEqual(b.Networks);

    private static bool CertificateEquals(CertificateSpec a, CertificateSpec b) =>
        a.Name == b.Name && a.Challenge == b.Challenge && a.Domains.SequenceEqual(b.Domains) && a.Install.SequenceEqual(b.Install)
        && Equals(a.Source, b.Source)
        && (a.Reload, b.Reload) switch
        {
            (null, null) => true,
            ({ } x, { } y) => Equals(x.DockerSignal, y.DockerSignal) && SameList(x.Command, y.Command)
                && (x.DockerExec, y.DockerExec) switch
                {
                    (null, null) => true,
                    ({ } p, { } q) => p.Container == q.Container && p.Command.SequenceEqual(q.Command),
                    _ => false,
                },
            _ => false,
        };

    private static bool SameList<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b) =>
        a is null ? b is null : b is not null && a.SequenceEqual(b);
}
