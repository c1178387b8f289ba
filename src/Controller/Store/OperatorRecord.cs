namespace Hawser.Controller.Store;

/// <summary>What an operator may do; each role includes the ones before it.</summary>
public enum OperatorRole
{
    /// <summary>Every read: nodes, revisions, diffs, events, rollouts, certificates' public parts, metrics.</summary>
    Viewer,

    /// <summary>A viewer that may also apply, diff, run rollouts and renew certificates.</summary>
    Operator,

    /// <summary>Everything: join tokens, operators, node removal besides.</summary>
    Admin,
}

/// <summary>A person or machine that steers the fleet, as stored: its role, the nodes it is scoped to, and whether it was revoked.</summary>
public sealed record OperatorRecord
{
    /// <summary>The operator's unique name: its certificates' common name, and the actor of what it does.</summary>
    public required string Name { get; init; }

    /// <summary>What it may do.</summary>
    public required OperatorRole Role { get; init; }

    /// <summary>Labels a node must have for this operator to see or change it; empty: every node.</summary>
    public required IReadOnlyDictionary<string, string> Selector { get; init; }

    /// <summary>When it was added.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it was revoked (its certificates refused from then on), or null.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>
    /// Only for <c>admin</c> after an upgrade from a store without operators: the admin credentials every controller's
    /// <c>init</c> made before that (common name <c>admin</c>, issued before this time) are this operator's; null once
    /// the operator's certificates were rotated or when there never were such credentials.
    /// </summary>
    public DateTimeOffset? LegacyBefore { get; init; }

    /// <summary>Whether the operator is scoped to some nodes.</summary>
    public bool IsScoped => Selector.Count > 0;

    /// <summary>The selector as <c>k=v,k=v</c>, or <c>all nodes</c>.</summary>
    public string Scope => IsScoped ? string.Join(",", Selector.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}")) : "all nodes";

    /// <summary>Whether a node with <paramref name="labels"/> is within this operator's scope.</summary>
    public bool Sees(IReadOnlyDictionary<string, string> labels) => Hawser.Shared.Spec.LabelSelector.Matches(Selector, labels);
}

/// <summary>A certificate issued to an operator, as stored.</summary>
public sealed record OperatorCertificateRecord(string Serial, string Operator, DateTimeOffset IssuedAt, DateTimeOffset NotAfter, DateTimeOffset? RevokedAt);

/// <summary>Why an operator enrollment token was not accepted.</summary>
public enum OperatorTokenProblem
{
    /// <summary>Accepted.</summary>
    None,

    /// <summary>No such token, or the secret does not match.</summary>
    Unknown,

    /// <summary>Past its expiry.</summary>
    Expired,

    /// <summary>Already used (a token is good for one certificate).</summary>
    Used,

    /// <summary>Its operator was revoked, or its token replaced by a newer one.</summary>
    Revoked,
}
