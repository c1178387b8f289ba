namespace Hawser.Controller.Store;

/// <summary>A node as stored.</summary>
public sealed record NodeRecord
{
    /// <summary>The node's unique name.</summary>
    public required string Name { get; init; }

    /// <summary>Labels that profiles select on.</summary>
    public required IReadOnlyDictionary<string, string> Labels { get; init; }

    /// <summary>The agent version it last reported.</summary>
    public required string AgentVersion { get; init; }

    /// <summary>What its agent said about the host in its last hello, or null before the first hello (or a hello without facts).</summary>
    public NodeFacts? Facts { get; init; }

    /// <summary>When the node first enrolled.</summary>
    public required DateTimeOffset FirstSeen { get; init; }

    /// <summary>When the node was last heard from.</summary>
    public required DateTimeOffset LastSeen { get; init; }

    /// <summary>The revision the node should be at.</summary>
    public required ulong DesiredRevision { get; init; }

    /// <summary>The revision the node last applied.</summary>
    public required ulong AppliedRevision { get; init; }

    /// <summary>The node's latest report, or null before its first.</summary>
    public NodeReport? LastReport { get; init; }

    /// <summary>The node's report of its converge of the revision it was last sent (what that revision did), or null.</summary>
    public NodeReport? OutcomeReport { get; init; }

    /// <summary>Drift corrections reported since the desired revision was applied.</summary>
    public int DriftCorrected { get; init; }

    /// <summary>When the last report arrived.</summary>
    public DateTimeOffset? LastReportAt { get; init; }

    /// <summary>The revision a rollout gave the node (0: none), or null to follow the newest revision.</summary>
    public ulong? PinnedRevision { get; init; }

    /// <summary>With a shared store: the live controller holding the node's stream, or null when none does.</summary>
    public string? ConnectedTo { get; init; }
}

/// <summary>Why a join token was not accepted.</summary>
public enum JoinTokenProblem
{
    /// <summary>Accepted.</summary>
    None,

    /// <summary>No such token (or the secret does not match).</summary>
    Unknown,

    /// <summary>Past its expiry.</summary>
    Expired,

    /// <summary>All its uses are spent.</summary>
    UsedUp,

    /// <summary>Revoked by an operator.</summary>
    Revoked,
}

/// <summary>A stored spec revision; immutable once written.</summary>
public sealed record RevisionRecord
{
    /// <summary>Sequence number, from 1.</summary>
    public required ulong Number { get; init; }

    /// <summary>Who applied it.</summary>
    public required string Author { get; init; }

    /// <summary>The operator's message.</summary>
    public required string Message { get; init; }

    /// <summary>When it was stored.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The spec text as applied.</summary>
    public required string SpecText { get; init; }

    /// <summary>SHA-256 of <see cref="SpecText"/>, hex.</summary>
    public required string SpecSha256 { get; init; }
}
