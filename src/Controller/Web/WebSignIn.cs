using System.Security.Claims;
using Hawser.Controller.Pki;
using Hawser.Controller.Store;
using Hawser.Controller.Store.Repositories;

namespace Hawser.Controller.Web;

/// <summary>A request's signed-in caller: the event log's name for it, its role, and its scope (null: every node).</summary>
public sealed record WebCaller(string Actor, OperatorRole Role, OperatorRecord? Operator);

/// <summary>How a web sign-in was made, and so how it is checked on each request.</summary>
public enum WebSignInKind
{
    /// <summary>An operator's client certificate: the operator is read from the store on every request (revocation, role).</summary>
    Operator,

    /// <summary>The organisation's identity provider: role and scope as its groups granted at sign-in, for the session's life.</summary>
    Sso,

    /// <summary>The admin token (break-glass): honoured while break-glass is on and the token file holds the same token.</summary>
    BreakGlass,
}

/// <summary>
/// The web UI's sign-ins as claims in an ASP.NET Core cookie ticket (kept in the store by <see cref="StoreTicketStore"/>), and
/// the check each request makes of one. The break-glass admin token lives here too: a 0600 file in the data directory,
/// whose logins are off unless <paramref name="breakGlass"/>.
/// </summary>
public sealed class WebSignIn(string tokenPath, ControllerStore store, bool breakGlass = false)
{
    private const string KindClaim = "hawser:kind";
    private const string RoleClaim = "hawser:role";
    private const string SelectorClaim = "hawser:selector";

    private readonly TokenFile _token = new(tokenPath);

    /// <summary>Whether the admin token may log in; when off, sessions made with it are not honoured either.</summary>
    public bool BreakGlass => breakGlass;

    /// <summary>The break-glass token file, made (random, 0600) when missing.</summary>
    public string TokenPath => tokenPath;

    private string? _tokenWho;
    private readonly Lock _tokenLock = new();

    /// <summary>Creates the token file unless it exists, and remembers which token it holds.</summary>
    public void EnsureToken()
    {
        _token.Ensure();
        _tokenWho = TokenWho();
    }

    /// <summary>
    /// Ends the break-glass sign-ins of a token this controller's file held until it was replaced (a leaked token), on every
    /// controller sharing the store; returns who those sign-ins were (the old token), or null when the token is unchanged.
    /// </summary>
    public async Task<string?> EndSignInsOfReplacedTokenAsync(CancellationToken cancellationToken)
    {
        var now = TokenWho();
        string? old;
        lock (_tokenLock)
        {
            old = _tokenWho;
            if (old == now || now is null)
            {
                return null;
            }
            _tokenWho = now;
        }
        if (old is not null)
        {
            await store.WebSessions.DeleteOfAsync(old, cancellationToken);
        }
        return old;
    }

    /// <summary>Whether <paramref name="token"/> is the admin token (<see cref="TokenFile.Check"/>).</summary>
    public TokenCheck Check(string token) => _token.Check(token);

    /// <summary>Who a break-glass login with the token now in the file is: <c>admin token</c> and the token's fingerprint.</summary>
    public string? TokenWho() => _token.Fingerprint() is { } fingerprint ? $"admin token {fingerprint}" : null;

    /// <summary>The sign-in of a live operator by its client certificate.</summary>
    public static ClaimsPrincipal Operator(OperatorRecord found) => Principal(WebSignInKind.Operator, found.Name, $"operator:{found.Name}", found.Role, found.Selector);

    /// <summary>The sign-in of a person the identity provider vouched for, with the role and scope its groups grant.</summary>
    public static ClaimsPrincipal Sso(string actor, string subject, SsoGroup grant) => Principal(WebSignInKind.Sso, actor, $"sso:{subject}", grant.Role, grant.Selector);

    /// <summary>The break-glass sign-in with the token now in the file.</summary>
    public static ClaimsPrincipal BreakGlassAdmin(string tokenWho) =>
        Principal(WebSignInKind.BreakGlass, $"break-glass ({tokenWho})", tokenWho, OperatorRole.Admin, new Dictionary<string, string>());

    /// <summary>How <paramref name="principal"/> signed in, or null when it is none of ours.</summary>
    public static WebSignInKind? KindOf(ClaimsPrincipal principal) =>
        Enum.TryParse<WebSignInKind>(principal.FindFirst(KindClaim)?.Value, out var kind) ? kind : null;

    /// <summary>
    /// The caller a signed-in <paramref name="principal"/> is now, or null when its sign-in no longer holds: a revoked
    /// operator, break-glass turned off or its token replaced.
    /// </summary>
    public async Task<WebCaller?> CallerAsync(ClaimsPrincipal principal, CancellationToken cancellationToken)
    {
        var name = principal.Identity?.Name ?? "";
        switch (KindOf(principal))
        {
            case WebSignInKind.Operator:
                return await store.Operators.GetAsync(name, cancellationToken) is { RevokedAt: null } found ? new WebCaller(found.Name, found.Role, found) : null;
            case WebSignInKind.BreakGlass:
                // Its ticket is deleted (on every controller) once the token it was made with is replaced: the controller whose
                // file changed notices at its next break-glass request, and refuses that request too.
                var ended = await EndSignInsOfReplacedTokenAsync(cancellationToken);
                return breakGlass && principal.FindFirst(StoreTicketStore.WhoClaim)?.Value is { } who && who != ended
                    ? new WebCaller(name, OperatorRole.Admin, null) : null;
            case WebSignInKind.Sso:
                var role = OperatorRepository.ParseRole(principal.FindFirst(RoleClaim)?.Value) ?? OperatorRole.Viewer;
                var selector = ParseSelector(principal.FindFirst(SelectorClaim)?.Value ?? "");
                // An operator record in all but storage, so a scope filters and refuses as for a stored operator.
                return new WebCaller(name, role, new OperatorRecord { Name = name, Role = role, Selector = selector, CreatedAt = DateTimeOffset.UnixEpoch });
            default:
                return null;
        }
    }

    private static ClaimsPrincipal Principal(WebSignInKind kind, string actor, string who, OperatorRole role, IReadOnlyDictionary<string, string> selector) =>
        new(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, actor),
            new Claim(KindClaim, kind.ToString()),
            new Claim(StoreTicketStore.WhoClaim, who),
            new Claim(RoleClaim, OperatorRepository.RoleWord(role)),
            new Claim(SelectorClaim, string.Join(",", selector.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}"))),
        ], WebAuthentication.CookieScheme, ClaimTypes.Name, null));

    private static Dictionary<string, string> ParseSelector(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
}
