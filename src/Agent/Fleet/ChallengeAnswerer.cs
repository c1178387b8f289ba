using System.Net;
using System.Text;
using Hawser.Agent.Configuration;
using Hawser.Agent.Output;
using Microsoft.Extensions.Logging;
using Hawser.Shared.Acme;
using Hawser.Shared.HostAccess;
using Hawser.Shared.IO;

namespace Hawser.Agent.Fleet;

/// <summary>
/// This host's part in a shared HTTP-01 challenge: the key authorizations the controller pushes are
/// answered by the agent's own responder and, when configured, written into a web server's webroot
/// (for an nginx that already has port 80). Either way is enough for the CA.
/// </summary>
public sealed class ChallengeAnswerer : IAsyncDisposable
{
    private readonly AcmeChallengeConfig _config;
    private readonly HostPaths _paths;
    private readonly Http01Responder? _responder;

    private ChallengeAnswerer(AcmeChallengeConfig config, HostPaths paths, Http01Responder? responder)
    {
        _config = config;
        _paths = paths;
        _responder = responder;
    }

    /// <summary>Starts the responder when configured; a port already taken is logged, and the webroot (if any) still answers.</summary>
    public static async Task<ChallengeAnswerer> StartAsync(AcmeChallengeConfig config, HostPaths paths, ILogger log, CancellationToken cancellationToken)
    {
        Http01Responder? responder = null;
        if (config.Listen != "none")
        {
            try
            {
                responder = await Http01Responder.StartAsync(IPEndPoint.Parse(config.Listen), cancellationToken);
                // The CA's visit is worth a line: it says which host a validation reached.
                responder.Answered = (token, how, remote) => AgentLog.ChallengeAnswered(log, token, how, remote);
                AgentLog.AnsweringChallenges(log, config.Listen);
            }
            catch (IOException ex)
            {
                var consequence = config.Webroot is null
                    ? "this host cannot answer HTTP-01 challenges (set acmeChallenge.webroot in agent.yaml, or free the port)"
                    : $"challenges are answered through {config.Webroot} only";
                AgentLog.ChallengePortUnavailable(log, ex.Message, consequence);
            }
        }
        return new ChallengeAnswerer(config, paths, responder);
    }

    /// <summary>The account thumbprint for the stateless fallback (ignored when agent.yaml turns it off).</summary>
    public void UseThumbprint(string? thumbprint)
    {
        if (_responder is not null)
        {
            _responder.Thumbprint = _config.StatelessFallback ? thumbprint : null;
        }
    }

    /// <summary>Answers <paramref name="token"/> from now on; null when done, else why this host cannot.</summary>
    public string? Put(string token, string keyAuthorization)
    {
        if (!Http01Responder.IsToken(token) || !keyAuthorization.StartsWith(token + ".", StringComparison.Ordinal))
        {
            return $"'{token}' is not an ACME token with its key authorization";
        }
        _responder?.Put(token, keyAuthorization);
        if (_config.Webroot is { } webroot)
        {
            try
            {
                AtomicFile.Write(TokenFile(webroot, token), Encoding.ASCII.GetBytes(keyAuthorization), (UnixFileMode)0b110_100_100, noSymlinks: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return _responder is null ? $"cannot write the token into {webroot}: {ex.Message}" : null;
            }
        }
        return _responder is null && _config.Webroot is null ? "this host has no HTTP-01 responder (port taken or turned off) and no webroot" : null;
    }

    /// <summary>Stops answering <paramref name="token"/>.</summary>
    public void Remove(string token)
    {
        if (!Http01Responder.IsToken(token))
        {
            return;
        }
        _responder?.Remove(token);
        if (_config.Webroot is { } webroot)
        {
            AtomicFile.Delete(TokenFile(webroot, token), noSymlinks: true);
        }
    }

    /// <summary>
    /// The token's file below where the webroot really is (the operator's webroot may be reached through a link, not one
    /// outside --root): nothing below it is followed, so a link planted in its .well-known path is refused.
    /// </summary>
    private string TokenFile(string webroot, string token) =>
        $"{_paths.Resolve(webroot.TrimEnd('/')) ?? _paths.Map(webroot.TrimEnd('/'))}{Http01Responder.PathPrefix}{token}";

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_responder is not null)
        {
            await _responder.DisposeAsync();
        }
    }
}
