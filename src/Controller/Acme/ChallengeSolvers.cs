using Hawser.Controller.Sessions;
using Hawser.Controller.Acme.Client;
using Hawser.Shared.Acme;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Spec;

namespace Hawser.Controller.Acme;

/// <summary>What a solver needs to know about one challenge it is to make answerable.</summary>
/// <param name="Client">The account's client (its key makes the key authorization).</param>
/// <param name="Target">The certificate and the nodes that serve it.</param>
/// <param name="Domain">The identifier being validated.</param>
/// <param name="Challenge">The CA's challenge of the solver's type.</param>
/// <param name="Acme">The spec's acme block: whether agents answer tokens they were not told (http-01), how DNS-01 records are published.</param>
public sealed record ChallengeContext(AcmeClient Client, CertificateTarget Target, string Domain, AcmeChallenge Challenge, AcmeSpec Acme);

/// <summary>
/// Makes one kind of ACME challenge answerable before the CA is asked to validate it, and cleans up
/// afterwards. HTTP-01 through the agents is built in; DNS-01 (for wildcards) would be another
/// implementation (publish the TXT record, wait for it to be visible) registered the same way.
/// </summary>
public interface IChallengeSolver
{
    /// <summary>The challenge type, e.g. <c>http-01</c>.</summary>
    string Type { get; }

    /// <summary>Makes the answer reachable, or throws <see cref="CertificateOrderException"/> naming what cannot answer; the result undoes it.</summary>
    Task<IAsyncDisposable> PrepareAsync(ChallengeContext context, IProgress<string>? progress, CancellationToken cancellationToken);
}

/// <summary>HTTP-01 answered by every target node: each is told the key authorization and must acknowledge it (or answer statelessly).</summary>
public sealed class Http01Solver(AgentSessions sessions, TimeSpan ackTimeout) : IChallengeSolver
{
    /// <inheritdoc/>
    public string Type => "http-01";

    /// <inheritdoc/>
    public async Task<IAsyncDisposable> PrepareAsync(ChallengeContext context, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var (client, target, domain, challenge, acme) = context;
        var fallback = acme.StatelessFallback;
        var token = challenge.Token ?? throw new CertificateOrderException($"certificate '{target.Name}': the CA's http-01 challenge for {domain} has no token");
        var keyAuthorization = client.Key.KeyAuthorization(token);
        var refused = await sessions.BroadcastAsync(target.Nodes, _ => new ControllerMessage { ChallengePut = new ChallengePut { Token = token, KeyAuthorization = keyAuthorization } },
            ackTimeout, cancellationToken);
        var cleanup = new ChallengeCleanup(() => sessions.BroadcastAsync(target.Nodes, _ => new ControllerMessage { ChallengeRemove = new ChallengeRemove { Token = token } },
            ackTimeout, CancellationToken.None));
        var silent = string.Join(", ", refused.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} ({r.Value})"));
        // A node that cannot be told (offline, slow) still answers statelessly when the fallback is on;
        // one that refused (no responder, no webroot) cannot answer at all.
        if (refused.Count > 0 && (!fallback || refused.Values.Any(reason => !Silent(reason))))
        {
            await cleanup.DisposeAsync();
            throw new CertificateOrderException($"certificate '{target.Name}': not every node can answer the challenge for {domain}, so the CA was not asked to validate: {silent}"
                + (fallback ? "" : " (acme.statelessFallback is off)"));
        }
        if (refused.Count > 0)
        {
            progress?.Report($"{target.Name}: {silent}: relying on the stateless fallback there");
        }
        progress?.Report($"{target.Name}: {target.Nodes.Count} node(s) answer {domain}; asking the CA to validate");
        return cleanup;
    }

    private static bool Silent(string reason) => reason is "not connected" or "disconnected" || reason.StartsWith("did not acknowledge", StringComparison.Ordinal);
}

/// <summary>What a solver returns: undoes what it prepared when the validation is over.</summary>
public sealed class ChallengeCleanup(Func<Task> undo) : IAsyncDisposable
{
    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await undo();
}
