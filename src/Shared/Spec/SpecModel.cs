namespace Hawser.Shared.Spec;

/// <summary>A whole spec file (<c>apiVersion: hawser/v1</c>): nodes, profiles and the ACME account.</summary>
public sealed record SpecDocument
{
    /// <summary>The only version this build reads.</summary>
    public const string CurrentApiVersion = "hawser/v1";

    /// <summary>The controller's CA account; null when the spec orders no certificates.</summary>
    public AcmeSpec? Acme { get; init; }

    /// <summary>Nodes by name.</summary>
    public IReadOnlyDictionary<string, NodeSpec> Nodes { get; init; } = new Dictionary<string, NodeSpec>();

    /// <summary>Profiles by name.</summary>
    public IReadOnlyDictionary<string, ProfileSpec> Profiles { get; init; } = new Dictionary<string, ProfileSpec>();
}

/// <summary>The ACME account the controller uses.</summary>
public sealed record AcmeSpec
{
    /// <summary>The first CA's directory URL.</summary>
    public required Uri Directory { get; init; }

    /// <summary>The CAs to order from, in order: an order that fails at one for a reason the next could fix goes to the next. One, from <c>directory</c>, unless <c>issuers</c> lists more.</summary>
    public IReadOnlyList<AcmeIssuerSpec> Issuers { get => field ?? [new AcmeIssuerSpec { Directory = Directory }]; init; }

    /// <summary>The account's contact address.</summary>
    public string? Email { get; init; }

    /// <summary>Agents answer a token they were not pushed as TOKEN.THUMBPRINT, so a silent node does not stop an order (default true).</summary>
    public bool StatelessFallback { get; init; } = true;

    /// <summary>Before ordering, check that every A and AAAA address of each name is a target node answering HTTP-01 (default true).</summary>
    public bool Preflight { get; init; } = true;

    /// <summary>The port the CA validates HTTP-01 on: 80 for every public CA; a test CA may use another.</summary>
    public int ValidationPort { get; init; } = 80;

    /// <summary>How DNS-01 challenges are published (RFC 2136 updates); null when no certificate uses dns-01.</summary>
    public AcmeDns01Spec? Dns01 { get; init; }

    /// <summary>Equal settings, issuers compared by content (a list compares by reference otherwise).</summary>
    public bool Equals(AcmeSpec? other) => other is not null && Directory == other.Directory && Issuers.SequenceEqual(other.Issuers) && Email == other.Email
        && StatelessFallback == other.StatelessFallback && Preflight == other.Preflight && ValidationPort == other.ValidationPort && Equals(Dns01, other.Dns01);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Directory, Issuers.Count, Email, StatelessFallback, Preflight, ValidationPort, Dns01);
}

/// <summary>One CA of <c>acme.issuers</c>.</summary>
public sealed record AcmeIssuerSpec
{
    /// <summary>Its directory URL.</summary>
    public required Uri Directory { get; init; }

    /// <summary>External account binding, for a CA that requires one (ZeroSSL, Google, most private CAs); null when it does not.</summary>
    public AcmeEabSpec? Eab { get; init; }
}

/// <summary>An external account binding (RFC 8555 7.3.4): the key id the CA gave, and a file on the controller holding its MAC key.</summary>
public sealed record AcmeEabSpec
{
    /// <summary>The key identifier.</summary>
    public required string Kid { get; init; }

    /// <summary>An absolute path on the controller to the base64url MAC key, readable by its owner only.</summary>
    public required string HmacKeyFile { get; init; }
}

/// <summary>DNS-01 through RFC 2136 dynamic updates, signed with a TSIG key (RFC 8945) the controller reads from a file.</summary>
public sealed record AcmeDns01Spec
{
    /// <summary>The TSIG key, in BIND's key-file format (<c>tsig-keygen</c>), on the controller; it must be readable by its owner only.</summary>
    public required string TsigKeyFile { get; init; }

    /// <summary>Where updates go (ADDRESS or ADDRESS:PORT); null: the zone's primary, from its SOA record.</summary>
    public string? Server { get; init; }

    /// <summary>How long every authoritative server of the zone has to show the record before the CA is asked.</summary>
    public int PropagationTimeoutSeconds { get; init; } = 120;
}

/// <summary>One node: its labels and node-level blocks, which override the profiles' key by key.</summary>
public sealed record NodeSpec
{
    /// <summary>Labels that profile selectors match.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The node's own blocks.</summary>
    public ResourceBlocks Blocks { get; init; } = new();
}

/// <summary>Blocks applied to every node whose labels match <see cref="Selector"/>.</summary>
public sealed record ProfileSpec
{
    /// <summary>Every key must match the node's label.</summary>
    public IReadOnlyDictionary<string, string> Selector { get; init; } = new Dictionary<string, string>();

    /// <summary>The profile's blocks.</summary>
    public ResourceBlocks Blocks { get; init; } = new();

    /// <summary>True when this profile applies to a node with <paramref name="labels"/>; an empty selector selects nothing.</summary>
    public bool Selects(IReadOnlyDictionary<string, string> labels) => Selector.Count > 0 && LabelSelector.Matches(Selector, labels);
}

/// <summary>
/// The resource blocks a node or profile holds, by kind; a kind not set here has no entry. Each kind
/// adds a typed property for its block (e.g. <c>blocks.Sysctls</c>) in its own folder.
/// </summary>
public sealed class ResourceBlocks
{
    private readonly IReadOnlyDictionary<string, object> _blocks;

    /// <summary>Blocks by kind key.</summary>
    public ResourceBlocks(IReadOnlyDictionary<string, object>? blocks = null) => _blocks = blocks ?? new Dictionary<string, object>();

    /// <summary>The block of <paramref name="kind"/>, or null when not set.</summary>
    public TBlock? Get<TBlock>(SpecKind<TBlock> kind) where TBlock : class => _blocks.TryGetValue(kind.Key, out var block) ? (TBlock)block : null;

    /// <summary>The block of <paramref name="kind"/> as stored, or null.</summary>
    public object? Get(ISpecKind kind) => _blocks.GetValueOrDefault(kind.Key);

    /// <summary>True when no block is set.</summary>
    public bool IsEmpty => _blocks.Count == 0;
}
