namespace Hawser.Controller.Acme.Client;

/// <summary>The <c>urn:ietf:params:acme:error:*</c> types (RFC 8555 section 6.7) this client acts on; others are <see cref="Other"/>.</summary>
public enum AcmeErrorKind
{
    /// <summary>A type this client has no special handling for (see <see cref="AcmeException.Type"/>).</summary>
    Other,
    /// <summary>The nonce was refused; the request is retried with a fresh one.</summary>
    BadNonce,
    /// <summary>Too many requests; retried later, after Retry-After.</summary>
    RateLimited,
    /// <summary>The CA failed; retried later.</summary>
    ServerInternal,
    /// <summary>No account exists for this key.</summary>
    AccountDoesNotExist,
    /// <summary>newAccount needs External Account Binding.</summary>
    ExternalAccountRequired,
    /// <summary>The client lacks authorization (e.g. a failed challenge).</summary>
    Unauthorized,
    /// <summary>The CA reached the server but got the wrong answer.</summary>
    IncorrectResponse,
    /// <summary>The CA could not connect to the server.</summary>
    Connection,
    /// <summary>DNS lookup failed during validation.</summary>
    Dns,
    /// <summary>The CA will not issue for the name.</summary>
    RejectedIdentifier,
    /// <summary>The request was malformed.</summary>
    Malformed,
    /// <summary>The CSR is unacceptable.</summary>
    BadCsr,
    /// <summary>Finalize came before the order was ready.</summary>
    OrderNotReady,
    /// <summary>The certificate is revoked already.</summary>
    AlreadyRevoked,
}

/// <summary>A problem document from the CA, with its type, detail and HTTP status; or a transport failure reaching it.</summary>
public sealed class AcmeException : Exception
{
    private const string Prefix = "urn:ietf:params:acme:error:";

    /// <summary>From a problem document.</summary>
    public AcmeException(string request, AcmeProblem problem, int httpStatus, TimeSpan? retryAfter)
        : base(Describe(request, problem, httpStatus))
    {
        Problem = problem;
        HttpStatus = httpStatus;
        RetryAfter = retryAfter;
        Kind = KindOf(problem.Type);
    }

    /// <summary>Without a problem document (the CA is down, or answered something that is not ACME).</summary>
    public AcmeException(string message, int httpStatus = 0, Exception? inner = null, TimeSpan? retryAfter = null) : base(message, inner)
    {
        Problem = new AcmeProblem { Detail = message };
        HttpStatus = httpStatus;
        RetryAfter = retryAfter;
        // An outage (the CA not reached, or a 5xx) is worth retrying; what this client refuses by itself is not.
        Kind = httpStatus >= 500 || inner is HttpRequestException or TaskCanceledException ? AcmeErrorKind.ServerInternal : AcmeErrorKind.Other;
    }

    /// <summary>The problem document.</summary>
    public AcmeProblem Problem { get; }

    /// <summary>The full type URN, when the CA gave one.</summary>
    public string? Type => Problem.Type;

    /// <summary>The type this client knows.</summary>
    public AcmeErrorKind Kind { get; }

    /// <summary>The HTTP status (0 when the CA was not reached).</summary>
    public int HttpStatus { get; }

    /// <summary>The CA's Retry-After, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>True for failures worth retrying later as they are (rate limits, CA outages), not for refusals.</summary>
    public bool IsTransient => Kind is AcmeErrorKind.RateLimited or AcmeErrorKind.ServerInternal or AcmeErrorKind.BadNonce;

    private static AcmeErrorKind KindOf(string? type) => type is not null && type.StartsWith(Prefix, StringComparison.Ordinal)
        ? type[Prefix.Length..] switch
        {
            "badNonce" => AcmeErrorKind.BadNonce,
            "rateLimited" => AcmeErrorKind.RateLimited,
            "serverInternal" => AcmeErrorKind.ServerInternal,
            "accountDoesNotExist" => AcmeErrorKind.AccountDoesNotExist,
            "externalAccountRequired" => AcmeErrorKind.ExternalAccountRequired,
            "unauthorized" => AcmeErrorKind.Unauthorized,
            "incorrectResponse" => AcmeErrorKind.IncorrectResponse,
            "connection" => AcmeErrorKind.Connection,
            "dns" => AcmeErrorKind.Dns,
            "rejectedIdentifier" => AcmeErrorKind.RejectedIdentifier,
            "malformed" => AcmeErrorKind.Malformed,
            "badCSR" => AcmeErrorKind.BadCsr,
            "orderNotReady" => AcmeErrorKind.OrderNotReady,
            "alreadyRevoked" => AcmeErrorKind.AlreadyRevoked,
            _ => AcmeErrorKind.Other,
        }
        : AcmeErrorKind.Other;

    private static string Describe(string request, AcmeProblem problem, int status)
    {
        var type = problem.Type?.StartsWith(Prefix, StringComparison.Ordinal) == true ? problem.Type[Prefix.Length..] : problem.Type ?? "error";
        var sub = problem.Subproblems is { Count: > 0 } subproblems
            ? "; " + string.Join("; ", subproblems.Select(s => $"{s.Identifier?.Value}: {s.Detail}"))
            : "";
        return $"{request}: the CA answered {status} {type}: {problem.Detail}{sub}";
    }
}
