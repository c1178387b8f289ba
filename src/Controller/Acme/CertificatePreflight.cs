using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Hawser.Controller.Sessions;
using Hawser.Controller.Acme.Client;
using Hawser.Shared.Acme;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Acme;

/// <summary>
/// Checks, before anything is ordered, that every address a certificate's names resolve to is one
/// of its target nodes and answers HTTP-01 there: each node is pushed its own probe answer for one
/// token, then every A and AAAA address is asked for that token as the CA would ask. This catches
/// the round-robin pitfalls (a stale A record, an AAAA that reaches another host or nothing, which
/// fails validation because CAs try IPv6 first) without spending an order or a rate limit.
/// </summary>
public sealed class CertificatePreflight(AgentSessions sessions, DnsLookup dns, TimeSpan ackTimeout, Store.ControllerStore store) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(5) })
    {
        Timeout = TimeSpan.FromSeconds(8),
    };

    /// <summary>Throws <see cref="CertificateOrderException"/> naming every address that would fail validation.</summary>
    /// <param name="target">The certificate, its names and nodes.</param>
    /// <param name="port">The port the CA validates HTTP-01 on (80 for public CAs).</param>
    /// <param name="thumbprint">The account key's thumbprint when agents answer statelessly, else null.</param>
    /// <param name="progress">Receives one line per address checked.</param>
    /// <param name="cancellationToken">Stops the check.</param>
    public async Task CheckAsync(CertificateTarget target, int port, string? thumbprint, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        var addresses = new List<(string Domain, IPAddress Address)>();
        foreach (var domain in target.Domains)
        {
            try
            {
                var found = await dns.AddressesAsync(domain, cancellationToken);
                if (found.Count == 0)
                {
                    errors.Add($"{domain} has no A or AAAA record at {dns.Server}");
                }
                addresses.AddRange(found.Select(a => (domain, a)));
            }
            catch (DnsLookupException ex)
            {
                errors.Add(ex.Message);
            }
        }
        if (errors.Count == 0)
        {
            var unreached = await ProbeAsync(target, addresses, port, thumbprint, errors, progress, cancellationToken);
            if (errors.Count > 0 && unreached.Count > 0)
            {
                // An address that does not answer for its node is most likely that node, not told the probe.
                throw new AwaitingNodesException($"certificate '{target.Name}': waiting for {string.Join(", ", unreached)} to connect before ordering "
                    + $"(their HTTP-01 answers come from the agent); nothing was ordered: {string.Join("; ", errors)}", unreached);
            }
            if (errors.Count > 0 && await ConvergingAsync(target, cancellationToken) is { Count: > 0 } converging)
            {
                // Right after an apply the nodes are still making the host what the spec says, a firewall rule for port
                // 80 among it: their first report after that is the time to look again, not a failure.
                throw new AwaitingNodesException($"certificate '{target.Name}': waiting for {string.Join(", ", converging)} to apply their revision before ordering "
                    + $"(the spec may open the port they answer on); nothing was ordered: {string.Join("; ", errors)}", converging);
            }
        }
        if (errors.Count > 0)
        {
            throw new CertificateOrderException($"certificate '{target.Name}': preflight failed, nothing was ordered: {string.Join("; ", errors)}");
        }
    }

    /// <summary>
    /// The target nodes that are connected and have not yet reported a converge of the revision they were sent (one that
    /// failed counts: it failed at least for want of this certificate, after opening what the spec opens).
    /// </summary>
    private async Task<IReadOnlyList<string>> ConvergingAsync(CertificateTarget target, CancellationToken cancellationToken)
    {
        var converging = new List<string>();
        foreach (var node in target.Nodes)
        {
            if (await store.Nodes.GetAsync(node, cancellationToken) is { } record && sessions.IsConnected(record)
                && (record.LastReport is not { DryRun: false } last || last.Revision < record.DesiredRevision))
            {
                converging.Add(node);
            }
        }
        return converging;
    }

    /// <summary>Asks every address for the probe; returns the target nodes that could not be told it because they are not connected.</summary>
    private async Task<IReadOnlyList<string>> ProbeAsync(CertificateTarget target, List<(string Domain, IPAddress Address)> addresses, int port, string? thumbprint, List<string> errors,
        IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var token = Base64Url.Encode(RandomNumberGenerator.GetBytes(32));
        var answers = target.Nodes.ToDictionary(node => Http01Responder.ProbeAnswer(token, node), node => node, StringComparer.Ordinal);
        if (thumbprint is not null)
        {
            answers[$"{token}.{thumbprint}"] = "a stateless answer";
        }
        var refused = await sessions.BroadcastAsync(target.Nodes,
            node => new ControllerMessage { ChallengePut = new ChallengePut { Token = token, KeyAuthorization = Http01Responder.ProbeAnswer(token, node) } }, ackTimeout, cancellationToken);
        try
        {
            foreach (var (domain, address) in addresses.DistinctBy(a => a.Address))
            {
                var where = $"{domain} {(address.AddressFamily == AddressFamily.InterNetworkV6 ? "AAAA" : "A")} {address}";
                var (status, seen) = await AskAsync(domain, address, port, token, cancellationToken);
                if (status == 200 && answers.TryGetValue(seen, out var node))
                {
                    progress?.Report($"{target.Name}: preflight: {where} answers as {node}");
                }
                else if (status is { } code)
                {
                    errors.Add($"{where} answers on port {port} (HTTP {code} {Shorten(seen)}) but is not one of the nodes that serve it ({string.Join(", ", target.Nodes)})");
                }
                else
                {
                    errors.Add($"{where} does not answer HTTP on port {port} ({seen})"
                        + (address.AddressFamily == AddressFamily.InterNetworkV6 ? "; CAs try AAAA first, so remove the record or serve the challenge there" : ""));
                }
            }
            if (refused.Count > 0)
            {
                progress?.Report($"{target.Name}: preflight: not told the probe: {string.Join(", ", refused.Select(r => $"{r.Key} ({r.Value})"))}");
            }
            return [.. refused.Where(r => r.Value == AgentSessions.NotConnected).Select(r => r.Key).Order(StringComparer.Ordinal)];
        }
        finally
        {
            await sessions.BroadcastAsync(target.Nodes, _ => new ControllerMessage { ChallengeRemove = new ChallengeRemove { Token = token } }, ackTimeout, CancellationToken.None);
        }
    }

    /// <summary>The HTTP status and body, or no status and why nothing answered.</summary>
    private async Task<(int? Status, string Seen)> AskAsync(string domain, IPAddress address, int port, string token, CancellationToken cancellationToken)
    {
        var host = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{host}:{port}{Http01Responder.PathPrefix}{token}");
        request.Headers.Host = domain;
        try
        {
            using var response = await _http.SendAsync(request, cancellationToken);
            var body = (await response.Content.ReadAsStringAsync(cancellationToken)).Trim();
            return ((int)response.StatusCode, body);
        }
        catch (HttpRequestException ex)
        {
            return (null, ex.InnerException?.Message ?? ex.Message);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"no answer within {_http.Timeout.TotalSeconds:0} s");
        }
    }

    private static string Shorten(string text) => text.Length <= 60 ? $"'{text}'" : $"'{text[..57]}...'";

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();
}
