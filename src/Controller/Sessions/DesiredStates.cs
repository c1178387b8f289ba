using Hawser.Shared.Spec.Kinds.Agent;
using System.Security.Cryptography;
using Microsoft.Extensions.Caching.Memory;
using Hawser.Controller.Store;
using Hawser.Shared.Spec;

namespace Hawser.Controller.Sessions;

/// <summary>One node's desired state in one revision: the spec text the agent receives, and the certificate material its certificates use.</summary>
public sealed record NodeDesiredState(ulong Revision, string Yaml, string Sha256)
{
    /// <summary>PEM material by certificate name, for the node's certificates the controller has obtained.</summary>
    public IReadOnlyDictionary<string, Hawser.Shared.Protocol.V1.CertificateMaterial> Certificates { get; init; } =
        new Dictionary<string, Hawser.Shared.Protocol.V1.CertificateMaterial>();

    /// <summary>The ACME account thumbprint (stateless HTTP-01 fallback), or empty.</summary>
    public string AcmeThumbprint { get; init; } = "";
}

/// <summary>A whole spec resolved: each node's spec text and labels, and what it asks of the controller's ACME.</summary>
public sealed record ResolvedSpec(IReadOnlyDictionary<string, string> Nodes, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Labels,
    Acme.CertificatePlan Plan)
{
    /// <summary>The agent release each node should run, for the nodes whose spec names one (<c>agent: {version}</c>).</summary>
    public IReadOnlyDictionary<string, string> AgentVersions { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Resolves revisions into per-node desired states. A node's desired revision is the newest
/// revision that changed its own state, so an apply that does not touch a node pushes nothing to it.
/// </summary>
public sealed class DesiredStates(ControllerStore store, Acme.CertificateMaterials? materials = null) : IDisposable
{
    /// <summary>
    /// What the cache of revisions (their text, per-node texts and certificate plans) may hold, in characters: about
    /// 128 MB. Revisions are immutable, so an entry is good until it is the least used one when the bound is reached.
    /// </summary>
    public const long CacheChars = 64L * 1024 * 1024;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = CacheChars });

    private enum Cached { Revision, Nodes, Plan }

    private T Get<T>(Cached kind, ulong number, Func<T> make, Func<T, long> size) =>
        _cache.TryGetValue((kind, number), out T? cached) ? cached! : Put(kind, number, make(), size);

    /// <summary>Caches <paramref name="value"/>, sized for the cache's bound, and returns it.</summary>
    private T Put<T>(Cached kind, ulong number, T value, Func<T, long> size)
    {
        using var entry = _cache.CreateEntry((kind, number));
        entry.Size = Math.Max(1, size(value));
        entry.Value = value;
        return value;
    }

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
        var resolvedNodes = new List<ResolvedNode>(parsed.Spec!.Nodes.Count);
        foreach (var (name, node) in parsed.Spec.Nodes)
        {
            var resolved = SpecResolver.Resolve(parsed.Spec, name);
            errors.AddRange(resolved.Conflicts.Select(c => $"{fileName}: node '{name}': {c}"));
            nodes[name] = SpecWriter.WriteNode(name, node.Labels, resolved.Blocks);
            resolvedNodes.Add(resolved);
        }
        var labels = parsed.Spec.Nodes.ToDictionary(n => n.Key, n => n.Value.Labels, StringComparer.Ordinal);
        var agentVersions = resolvedNodes.Where(n => n.Blocks.Agent is not null).ToDictionary(n => n.Name, n => n.Blocks.Agent!.Version, StringComparer.Ordinal);
        return errors.Count == 0
            ? (new ResolvedSpec(nodes, labels, Acme.CertificateIssuer.PlanOf(parsed.Spec.Acme, resolvedNodes)) { AgentVersions = agentVersions }, [])
            : (null, errors);
    }

    /// <summary>Keeps what apply already resolved for a new revision, so it is not parsed again.</summary>
    public void Remember(RevisionRecord revision, ResolvedSpec spec)
    {
        _ = Get(Cached.Nodes, revision.Number, () => spec.Nodes, NodesSize);
        _ = Get(Cached.Plan, revision.Number, () => spec.Plan, _ => PlanSize(revision));
    }

    /// <summary>A stored revision, from the cache when it is there (revisions never change), else read once.</summary>
    private async ValueTask<RevisionRecord?> RevisionAsync(ulong number, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue((Cached.Revision, number), out RevisionRecord? cached))
        {
            return cached;
        }
        return await store.Revisions.GetAsync(number, cancellationToken) is { } read ? Put(Cached.Revision, number, read, r => r.SpecText.Length) : null;
    }

    /// <summary>The per-node spec texts of a stored revision.</summary>
    public IReadOnlyDictionary<string, string> Nodes(RevisionRecord revision) =>
        Get(Cached.Nodes, revision.Number, () => ResolveStored(revision).Nodes, NodesSize);

    /// <summary>A stored revision resolved again: every node's text and labels (for checks that need the labels too, such as an operator's scope).</summary>
    public ResolvedSpec Resolved(RevisionRecord revision) => ResolveStored(revision);

    /// <summary>Resolves a stored revision not in the cache, and keeps its certificate plan too: one parse for both.</summary>
    private ResolvedSpec ResolveStored(RevisionRecord revision)
    {
        var spec = Resolve(revision.SpecText, $"revision {revision.Number}").Spec
            ?? throw new InvalidOperationException($"stored revision {revision.Number} no longer validates");
        _ = Get(Cached.Plan, revision.Number, () => spec.Plan, _ => PlanSize(revision));
        return spec;
    }

    private static long NodesSize(IReadOnlyDictionary<string, string> nodes) => nodes.Sum(n => (long)n.Key.Length + n.Value.Length);

    /// <summary>
    /// What <paramref name="node"/> should run now: its state in the newest revision, numbered by
    /// the revision that last changed it. Null when the newest revision does not name the node.
    /// </summary>
    /// <remarks>Reads only the newest revision's number: its text (hundreds of KB in a large fleet) is read once per revision.</remarks>
    public async Task<NodeDesiredState?> ForAsync(NodeRecord node, CancellationToken cancellationToken = default) =>
        await store.Revisions.LatestNumberAsync(cancellationToken) is var number && number > 0
            && await RevisionAsync(number, cancellationToken) is { } latest ? await ForAsync(node, latest, cancellationToken) : null;

    /// <summary>
    /// As <see cref="ForAsync(NodeRecord, CancellationToken)"/>, against a revision already read (one read for a whole fleet);
    /// a node a rollout pinned gets its pinned revision instead (pin 0: nothing). Completes at once unless a revision is
    /// not cached yet.
    /// </summary>
    public async ValueTask<NodeDesiredState?> ForAsync(NodeRecord node, RevisionRecord latest, CancellationToken cancellationToken = default)
    {
        if (node.PinnedRevision is { } pin && pin != latest.Number)
        {
            if (pin == 0 || await RevisionAsync(pin, cancellationToken) is not { } pinned)
            {
                return null;
            }
            latest = pinned;
        }
        if (!Nodes(latest).TryGetValue(node.Name, out var yaml))
        {
            return null;
        }
        var revision = latest.Number;
        if (node.DesiredRevision > 0 && node.DesiredRevision != latest.Number
            && await RevisionAsync(node.DesiredRevision, cancellationToken) is { } current
            && Nodes(current).TryGetValue(node.Name, out var currentYaml) && currentYaml == yaml)
        {
            revision = node.DesiredRevision;
        }
        if (materials is null)
        {
            return new NodeDesiredState(revision, yaml, Sha256Hex(yaml));
        }
        var certificates = new Dictionary<string, Hawser.Shared.Protocol.V1.CertificateMaterial>(StringComparer.Ordinal);
        var serials = new System.Text.StringBuilder();
        foreach (var name in CertificatePlan(latest).NamesFor(node.Name))
        {
            if (materials.Get(name) is { } held)
            {
                certificates[name] = held.Material;
                serials.Append(name).Append('=').Append(held.Serial).Append('\n');
            }
        }
        // A new certificate or account changes what the node must receive, though not its revision.
        return new NodeDesiredState(revision, yaml, Sha256Hex($"{yaml}\n{serials}{materials.Thumbprint}"))
        {
            Certificates = certificates,
            AcmeThumbprint = materials.Thumbprint,
        };
    }

    /// <summary>What a revision asks of the controller's ACME (computed once per revision: revisions are immutable).</summary>
    public Acme.CertificatePlan CertificatePlan(RevisionRecord revision) =>
        Get(Cached.Plan, revision.Number, () => Acme.CertificateIssuer.PlanOf(revision.SpecText, $"revision {revision.Number}"), _ => PlanSize(revision));

    private static long PlanSize(RevisionRecord revision) => revision.SpecText.Length / 4;

    /// <inheritdoc/>
    public void Dispose() => _cache.Dispose();

    private static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
}
