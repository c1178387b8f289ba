using System.Collections.Concurrent;
using System.Security.Cryptography;
using Hawser.Controller.Store;
using Hawser.Shared.Spec;

namespace Hawser.Controller.Sessions;

/// <summary>One node's desired state in one revision: the spec text the agent receives.</summary>
public sealed record NodeDesiredState(ulong Revision, string Yaml, string Sha256);

/// <summary>A whole spec resolved: each node's spec text and labels.</summary>
public sealed record ResolvedSpec(IReadOnlyDictionary<string, string> Nodes, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Labels);

/// <summary>
/// Resolves revisions into per-node desired states. A node's desired revision is the newest
/// revision that changed its own state, so an apply that does not touch a node pushes nothing to it.
/// </summary>
public sealed class DesiredStates(ControllerStore store)
{
    private readonly ConcurrentDictionary<ulong, IReadOnlyDictionary<string, string>> _byRevision = new();

    /// <summary>Parses and resolves a whole spec; every error (file:line:column, or node conflicts) when it is not valid.</summary>
    public static (ResolvedSpec? Spec, IReadOnlyList<string> Errors) Resolve(string text, string fileName)
    {
        var parsed = SpecParser.Parse(text, fileName, SpecRules.Controller);
        if (!parsed.IsValid)
        {
            return (null, [.. parsed.Errors.Select(e => e.ToString())]);
        }
        var errors = new List<string>();
        var nodes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in parsed.Spec!.Nodes)
        {
            var resolved = SpecResolver.Resolve(parsed.Spec, name);
            errors.AddRange(resolved.Conflicts.Select(c => $"{fileName}: node '{name}': {c}"));
            nodes[name] = SpecWriter.WriteNode(name, node.Labels, resolved.Blocks);
        }
        var labels = parsed.Spec.Nodes.ToDictionary(n => n.Key, n => n.Value.Labels, StringComparer.Ordinal);
        return errors.Count == 0 ? (new ResolvedSpec(nodes, labels), []) : (null, errors);
    }

    /// <summary>Keeps what apply already resolved for a new revision, so it is not parsed again.</summary>
    public void Remember(RevisionRecord revision, ResolvedSpec spec) => _byRevision.TryAdd(revision.Number, spec.Nodes);

    // Revisions are immutable, so a revision read once is good forever.
    private readonly ConcurrentDictionary<ulong, RevisionRecord?> _revisions = new();

    private RevisionRecord? Revision(ulong number) => _revisions.GetOrAdd(number, store.GetRevision);

    /// <summary>The per-node spec texts of a stored revision.</summary>
    public IReadOnlyDictionary<string, string> Nodes(RevisionRecord revision) =>
        _byRevision.GetOrAdd(revision.Number, _ => Resolve(revision.SpecText, $"revision {revision.Number}").Spec?.Nodes
            ?? throw new InvalidOperationException($"stored revision {revision.Number} no longer validates"));

    /// <summary>
    /// What <paramref name="node"/> should run now: its state in the newest revision, numbered by
    /// the revision that last changed it. Null when the newest revision does not name the node.
    /// </summary>
    public NodeDesiredState? For(NodeRecord node) => store.LatestRevision() is { } latest ? For(node, latest) : null;

    /// <summary>As <see cref="For(NodeRecord)"/>, against a revision already read (one read for a whole fleet).</summary>
    public NodeDesiredState? For(NodeRecord node, RevisionRecord latest)
    {
        if (!Nodes(latest).TryGetValue(node.Name, out var yaml))
        {
            return null;
        }
        var revision = latest.Number;
        if (node.DesiredRevision > 0 && node.DesiredRevision != latest.Number
            && Revision(node.DesiredRevision) is { } current
            && Nodes(current).TryGetValue(node.Name, out var currentYaml) && currentYaml == yaml)
        {
            revision = node.DesiredRevision;
        }
        return new NodeDesiredState(revision, yaml, Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(yaml))));
    }
}
