using System.Security.Cryptography;
using System.Text;
using Hawser.Controller.Acme.Client;
using Hawser.Shared.Acme;
using Hawser.Controller.Pki;
using Hawser.Shared.IO;
using Hawser.Controller.Store;

namespace Hawser.Controller.Web;

/// <summary>A logged-in browser: who (<c>operator:NAME</c>, or the admin token's fingerprint), its CSRF token, and until when.</summary>
public sealed record WebSession(string Id, string Csrf, string Who, DateTimeOffset Expires);

/// <summary>A request's signed-in caller: its session, the event log's name for it, its role, and its operator (null for the break-glass token).</summary>
public sealed record WebCaller(WebSession Session, string Actor, Store.OperatorRole Role, Store.OperatorRecord? Operator);

/// <summary>
/// Browser sessions for the web UI: a login with an operator's client certificate, or with the admin token (a 0600 file in
/// the data directory; the break-glass login, off unless <paramref name="breakGlass"/>), yields an opaque session id and a
/// CSRF token.
/// Sessions are kept in the store, by the SHA-256 of their id (the id is the browser's secret), so a
/// browser logged in through one controller is logged in on every controller sharing the store, and a restart
/// logs nobody out. A session made with the admin token names the token's fingerprint: when this controller's token
/// file is replaced, the sessions made with the old token end (on every controller sharing the store).
/// </summary>
public sealed class WebSessions(string tokenPath, ControllerStore store, TimeSpan? lifetime = null, bool breakGlass = false)
{
    /// <summary>The session cookie's name.</summary>
    public const string CookieName = "hawser_session";

    private const string OperatorPrefix = "operator:";

    /// <summary>Whether the admin token may log in (break-glass); when off, sessions made with it are not honoured either.</summary>
    public bool BreakGlass => breakGlass;

    /// <summary>What a session of operator <paramref name="name"/> stores as its who.</summary>
    public static string OperatorWho(string name) => OperatorPrefix + name;

    /// <summary>The operator a session belongs to, or null for a session of the admin token.</summary>
    public static string? OperatorOf(WebSession session) => session.Who.StartsWith(OperatorPrefix, StringComparison.Ordinal) ? session.Who[OperatorPrefix.Length..] : null;

    private readonly TimeSpan _lifetime = lifetime ?? TimeSpan.FromHours(12);

    private readonly TokenFile _token = new(tokenPath);

    /// <summary>The admin UI token file, made (random, 0600) when missing.</summary>
    public string TokenPath => tokenPath;

    /// <summary>Creates the token file unless it exists, and remembers which token it holds.</summary>
    public void EnsureToken()
    {
        _token.Ensure();
        _tokenWho = TokenWho();
    }

    private string? _tokenWho;
    private readonly Lock _tokenLock = new();

    /// <summary>Who a session made with the token in the file now is: <c>admin token</c> and the token's fingerprint.</summary>
    public string? TokenWho() => _token.Fingerprint() is { } fingerprint ? $"admin token {fingerprint}" : null;

    /// <summary>Ends the sessions of a token that was replaced since it was last looked at; returns how many ended.</summary>
    public async Task<int> EndSessionsOfReplacedTokenAsync(CancellationToken cancellationToken)
    {
        var now = TokenWho();
        string? old;
        lock (_tokenLock)
        {
            old = _tokenWho;
            if (old == now || now is null)
            {
                return 0;
            }
            _tokenWho = now;
        }
        return old is null ? 0 : await store.WebSessions.DeleteOfAsync(old, cancellationToken);
    }

    /// <summary>Whether <paramref name="token"/> is the admin UI token (<see cref="TokenFile.Check"/>).</summary>
    public TokenCheck Check(string token) => _token.Check(token);

    /// <summary>A new session for <paramref name="who"/>.</summary>
    public async Task<WebSession> CreateAsync(string who, CancellationToken cancellationToken)
    {
        var session = new WebSession(Base64Url.Encode(RandomNumberGenerator.GetBytes(32)), Base64Url.Encode(RandomNumberGenerator.GetBytes(32)), who,
            DateTimeOffset.UtcNow + _lifetime);
        await store.WebSessions.SaveAsync(Hash(session.Id), session.Csrf, session.Who, session.Expires, cancellationToken);
        return session;
    }

    /// <summary>The live session with <paramref name="id"/>, or null.</summary>
    public async Task<WebSession?> FindAsync(string? id, CancellationToken cancellationToken)
    {
        if (id is null)
        {
            return null;
        }
        await EndSessionsOfReplacedTokenAsync(cancellationToken);
        return await store.WebSessions.FindAsync(Hash(id), cancellationToken) is var (csrf, who, expires)
            && (breakGlass || who.StartsWith(OperatorPrefix, StringComparison.Ordinal)) ? new WebSession(id, csrf, who, expires) : null;
    }

    /// <summary>Ends a session.</summary>
    public Task EndAsync(string id, CancellationToken cancellationToken) => store.WebSessions.DeleteAsync(Hash(id), cancellationToken);

    private static string Hash(string id) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)));
}
