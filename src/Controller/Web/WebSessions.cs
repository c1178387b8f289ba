using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Hawser.Controller.Acme.Client;
using Hawser.Shared.Acme;
using Hawser.Shared.IO;

namespace Hawser.Controller.Web;

/// <summary>A logged-in browser: who, its CSRF token, and until when.</summary>
public sealed record WebSession(string Id, string Csrf, string Who, DateTimeOffset Expires);

/// <summary>
/// Browser sessions for the web UI: a login with the admin token (a 0600 file in the data
/// directory) or the admin client certificate yields an opaque session id and a CSRF token.
/// Sessions live in memory: a controller restart logs everyone out, which is the safe side.
/// </summary>
public sealed class WebSessions(string tokenPath, TimeSpan? lifetime = null)
{
    /// <summary>The session cookie's name.</summary>
    public const string CookieName = "hawser_session";

    private readonly ConcurrentDictionary<string, WebSession> _sessions = new(StringComparer.Ordinal);
    private readonly TimeSpan _lifetime = lifetime ?? TimeSpan.FromHours(12);

    /// <summary>The admin UI token file, made (random, 0600) when missing.</summary>
    public string TokenPath => tokenPath;

    /// <summary>Creates the token file unless it exists.</summary>
    public void EnsureToken()
    {
        if (!File.Exists(tokenPath))
        {
            AtomicFile.Write(tokenPath, Encoding.ASCII.GetBytes(Base64Url.Encode(RandomNumberGenerator.GetBytes(32)) + "\n"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    /// <summary>
    /// Whether <paramref name="token"/> is the admin UI token (compared in constant time). A token file removed
    /// while the controller runs matches nothing; a new one is written for the operator to read.
    /// </summary>
    public TokenCheck Check(string token)
    {
        byte[] expected;
        try
        {
            expected = Encoding.ASCII.GetBytes(File.ReadAllText(tokenPath).Trim());
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            EnsureToken();
            return TokenCheck.FileWasMissing;
        }
        return expected.Length > 0 && CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(token.Trim()))
            ? TokenCheck.Matches : TokenCheck.DoesNotMatch;
    }

    /// <summary>A new session for <paramref name="who"/>.</summary>
    public WebSession Create(string who)
    {
        foreach (var stale in _sessions.Values.Where(s => s.Expires < DateTimeOffset.UtcNow))
        {
            _sessions.TryRemove(stale.Id, out _);
        }
        var session = new WebSession(Base64Url.Encode(RandomNumberGenerator.GetBytes(32)), Base64Url.Encode(RandomNumberGenerator.GetBytes(32)), who,
            DateTimeOffset.UtcNow + _lifetime);
        _sessions[session.Id] = session;
        return session;
    }

    /// <summary>The live session with <paramref name="id"/>, or null.</summary>
    public WebSession? Find(string? id) =>
        id is not null && _sessions.TryGetValue(id, out var session) && session.Expires > DateTimeOffset.UtcNow ? session : null;

    /// <summary>Ends a session.</summary>
    public void End(string id) => _sessions.TryRemove(id, out _);
}

/// <summary>What a login's token is.</summary>
public enum TokenCheck
{
    /// <summary>The admin UI token.</summary>
    Matches,

    /// <summary>Not the token.</summary>
    DoesNotMatch,

    /// <summary>The token file was gone; a new one was written, and nothing matched.</summary>
    FileWasMissing,
}
