using System.Text.Json.Serialization;

namespace Hawser.Controller.Acme.Client;

/// <summary>The directory object (RFC 8555 section 7.1.1), plus RFC 9773's renewalInfo.</summary>
public sealed record AcmeDirectory
{
    /// <summary>newNonce URL.</summary>
    public required Uri NewNonce { get; init; }

    /// <summary>newAccount URL.</summary>
    public required Uri NewAccount { get; init; }

    /// <summary>newOrder URL.</summary>
    public required Uri NewOrder { get; init; }

    /// <summary>revokeCert URL.</summary>
    public Uri? RevokeCert { get; init; }

    /// <summary>keyChange URL.</summary>
    public Uri? KeyChange { get; init; }

    /// <summary>ACME Renewal Information (RFC 9773), when the CA offers it.</summary>
    public Uri? RenewalInfo { get; init; }

    /// <summary>Metadata: terms, EAB requirement, profiles.</summary>
    public AcmeDirectoryMeta? Meta { get; init; }
}

/// <summary>The directory's meta object.</summary>
public sealed record AcmeDirectoryMeta
{
    /// <summary>The terms of service the account agrees to.</summary>
    public Uri? TermsOfService { get; init; }

    /// <summary>True when newAccount needs External Account Binding.</summary>
    public bool ExternalAccountRequired { get; init; }

    /// <summary>Certificate profiles the CA offers, name to description (e.g. <c>shortlived</c>).</summary>
    public Dictionary<string, string>? Profiles { get; init; }
}

/// <summary>An account object (section 7.1.2) and its URL, which later requests name as their kid.</summary>
public sealed record AcmeAccount
{
    /// <summary>valid, deactivated or revoked.</summary>
    public string Status { get; init; } = "";

    /// <summary>mailto: contacts.</summary>
    public List<string>? Contact { get; init; }

    /// <summary>The account URL (from the Location header).</summary>
    [JsonIgnore]
    public Uri? Location { get; init; }
}

/// <summary>An identifier: type dns and a host name.</summary>
public sealed record AcmeIdentifier(string Type, string Value)
{
    /// <summary>A dns identifier.</summary>
    public static AcmeIdentifier Dns(string name) => new("dns", name);
}

/// <summary>An order object (section 7.1.3).</summary>
public sealed record AcmeOrder
{
    /// <summary>pending, ready, processing, valid or invalid.</summary>
    public string Status { get; init; } = "";

    /// <summary>When the order expires.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>The names ordered.</summary>
    public List<AcmeIdentifier> Identifiers { get; init; } = [];

    /// <summary>Authorization URLs, one per identifier.</summary>
    public List<Uri> Authorizations { get; init; } = [];

    /// <summary>Where the CSR goes.</summary>
    public Uri? Finalize { get; init; }

    /// <summary>The certificate, once valid.</summary>
    public Uri? Certificate { get; init; }

    /// <summary>Why the order became invalid.</summary>
    public AcmeProblem? Error { get; init; }

    /// <summary>The profile asked for (draft-ietf-acme-profiles).</summary>
    public string? Profile { get; init; }

    /// <summary>The order URL (from the Location header).</summary>
    [JsonIgnore]
    public Uri? Location { get; init; }
}

/// <summary>An authorization object (section 7.1.4).</summary>
public sealed record AcmeAuthorization
{
    /// <summary>The name being authorized.</summary>
    public required AcmeIdentifier Identifier { get; init; }

    /// <summary>pending, valid, invalid, deactivated, expired or revoked.</summary>
    public string Status { get; init; } = "";

    /// <summary>The ways the CA offers to prove control.</summary>
    public List<AcmeChallenge> Challenges { get; init; } = [];

    /// <summary>True for the authorization of a wildcard name.</summary>
    public bool Wildcard { get; init; }
}

/// <summary>A challenge object (section 7.1.5).</summary>
public sealed record AcmeChallenge
{
    /// <summary>http-01, dns-01, tls-alpn-01.</summary>
    public required string Type { get; init; }

    /// <summary>Where to POST when ready.</summary>
    public required Uri Url { get; init; }

    /// <summary>pending, processing, valid or invalid.</summary>
    public string Status { get; init; } = "";

    /// <summary>The token the key authorization starts with.</summary>
    public string? Token { get; init; }

    /// <summary>Why validation failed.</summary>
    public AcmeProblem? Error { get; init; }
}

/// <summary>A problem document (RFC 7807 as section 6.7 uses it).</summary>
public sealed record AcmeProblem
{
    /// <summary>urn:ietf:params:acme:error:... .</summary>
    public string? Type { get; init; }

    /// <summary>The CA's explanation.</summary>
    public string? Detail { get; init; }

    /// <summary>HTTP status.</summary>
    public int? Status { get; init; }

    /// <summary>Per-identifier problems.</summary>
    public List<AcmeProblem>? Subproblems { get; init; }

    /// <summary>The identifier a subproblem concerns.</summary>
    public AcmeIdentifier? Identifier { get; init; }
}

/// <summary>A renewal information object (RFC 9773 section 4.2).</summary>
public sealed record AcmeRenewalInfo
{
    /// <summary>The window the CA suggests renewing in.</summary>
    public required AcmeWindow SuggestedWindow { get; init; }

    /// <summary>Why, when the CA says (e.g. an incident).</summary>
    public Uri? ExplanationUrl { get; init; }
}

/// <summary>A start and end time.</summary>
public sealed record AcmeWindow(DateTimeOffset Start, DateTimeOffset End);

/// <summary>A downloaded certificate chain and the CA's alternate chains.</summary>
/// <param name="ChainPem">Leaf first, then the intermediates, as served.</param>
/// <param name="Alternates">URLs of alternate chains (Link rel="alternate").</param>
public sealed record AcmeCertificateChain(string ChainPem, IReadOnlyList<Uri> Alternates);

/// <summary>Request bodies, written by the source generator.</summary>
internal sealed record NewAccountRequest
{
    public List<string>? Contact { get; init; }

    public bool? TermsOfServiceAgreed { get; init; }

    public bool? OnlyReturnExisting { get; init; }

    public System.Text.Json.JsonElement? ExternalAccountBinding { get; init; }
}

internal sealed record NewOrderRequest
{
    public required List<AcmeIdentifier> Identifiers { get; init; }

    public string? Profile { get; init; }

    public string? Replaces { get; init; }
}

internal sealed record FinalizeRequest(string Csr);

internal sealed record RevokeRequest(string Certificate, int? Reason);

internal sealed record KeyChangeRequest(Uri Account, System.Text.Json.JsonElement OldKey);

internal sealed record EmptyRequest;

/// <summary>Source-generated JSON for every ACME object (trimming-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AcmeDirectory))]
[JsonSerializable(typeof(AcmeAccount))]
[JsonSerializable(typeof(AcmeOrder))]
[JsonSerializable(typeof(AcmeAuthorization))]
[JsonSerializable(typeof(AcmeChallenge))]
[JsonSerializable(typeof(AcmeProblem))]
[JsonSerializable(typeof(AcmeRenewalInfo))]
[JsonSerializable(typeof(NewAccountRequest))]
[JsonSerializable(typeof(NewOrderRequest))]
[JsonSerializable(typeof(FinalizeRequest))]
[JsonSerializable(typeof(RevokeRequest))]
[JsonSerializable(typeof(KeyChangeRequest))]
[JsonSerializable(typeof(EmptyRequest))]
[JsonSerializable(typeof(string))]
internal sealed partial class AcmeJsonContext : JsonSerializerContext;
