namespace Hawser.Controller.Store;

/// <summary>A managed certificate: what it is for, what is held, and how the last attempt went.</summary>
public sealed record IssuedCertificateRecord
{
    /// <summary>The spec's certificate name.</summary>
    public required string Name { get; init; }

    /// <summary>The names it covers.</summary>
    public required IReadOnlyList<string> Domains { get; init; }

    /// <summary>The chain (leaf first), once obtained.</summary>
    public string? ChainPem { get; init; }

    /// <summary>The private key's PEM, sealed.</summary>
    public byte[]? KeySealed { get; init; }

    /// <summary>The leaf's serial (hex).</summary>
    public string? Serial { get; init; }

    /// <summary>Start of validity.</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>End of validity.</summary>
    public DateTimeOffset? NotAfter { get; init; }

    /// <summary>When it was obtained.</summary>
    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary>Why the last order failed, if it did.</summary>
    public string? LastError { get; init; }

    /// <summary>When an order was last tried.</summary>
    public DateTimeOffset? LastAttempt { get; init; }

    /// <summary>The directory URL of the CA that issued it; null for one stored before issuers were recorded (the spec's first).</summary>
    public string? Issuer { get; init; }

    /// <summary>After a failed order, when the next may be made (the back-off, or the CA's Retry-After); null when not backing off.</summary>
    public DateTimeOffset? NextAttempt { get; init; }

    /// <summary>The length of the last back-off, which the next failure doubles.</summary>
    public TimeSpan? Backoff { get; init; }

    /// <summary>When it is due: a third of its lifetime before it ends.</summary>
    public DateTimeOffset? RenewAt => NotBefore is { } from && NotAfter is { } to ? to - (to - from) / 3 : null;
}
