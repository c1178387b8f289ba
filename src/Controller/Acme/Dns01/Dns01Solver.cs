using System.Net;
using System.Security.Cryptography;
using System.Text;
using DnsClient;
using DnsClient.Protocol;
using Hawser.Controller.Acme.Client;

namespace Hawser.Controller.Acme.Dns01;

/// <summary>
/// DNS-01 (RFC 8555 §8.4) through an RFC 2136 updater: the TXT record is written where
/// <c>_acme-challenge.DOMAIN</c>'s CNAMEs lead (a zone delegated for ACME), every authoritative server
/// of that zone is asked directly, not through a cache, until each answers it, and only then is the CA
/// asked to validate; the record is removed afterwards, whatever happened.
/// </summary>
public sealed class Dns01Solver(DnsLookup resolver, TimeSpan? pollInterval = null) : IChallengeSolver
{
    private readonly TimeSpan _poll = pollInterval ?? TimeSpan.FromSeconds(1);

    /// <inheritdoc/>
    public string Type => "dns-01";

    /// <inheritdoc/>
    public async Task<IAsyncDisposable> PrepareAsync(ChallengeContext context, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var (client, target, domain, challenge, _) = context;
        var settings = context.Acme.Dns01
            ?? throw new CertificateOrderException($"certificate '{target.Name}' uses dns-01, but the spec's acme block has no dns01 settings (tsigKeyFile, the key that may update the zone)");
        var token = challenge.Token ?? throw new CertificateOrderException($"certificate '{target.Name}': the CA's dns-01 challenge for {domain} has no token");
        var value = Base64Url.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(client.Key.KeyAuthorization(token))));
        ChallengeZone zone;
        DnsUpdater updater;
        // Every failure before the record exists names the certificate once, whichever step it came from.
        try
        {
            var key = TsigKeyFile.Read(settings.TsigKeyFile);
            zone = await ChallengeZone.FindAsync(resolver, domain, cancellationToken);
            var primary = settings.Server is { } server ? DnsLookup.ParseServer(server) : await PrimaryAsync(zone, cancellationToken);
            progress?.Report($"{target.Name}: {zone.ChallengeName}{(zone.RecordName == zone.ChallengeName ? "" : $" -> {zone.RecordName}")} in zone {zone.Zone}; updating {primary} with key {key.Name}");
            updater = new DnsUpdater(primary, key, TimeSpan.FromSeconds(5));
            await updater.AddTxtAsync(zone.Zone, zone.RecordName, value, cancellationToken);
        }
        catch (Exception ex) when (ex is CertificateOrderException or DnsLookupException)
        {
            throw new CertificateOrderException($"certificate '{target.Name}': {ex.Message}", ex);
        }
        var cleanup = new ChallengeCleanup(async () =>
        {
            try
            {
                await updater.RemoveTxtAsync(zone.Zone, zone.RecordName, value, CancellationToken.None);
            }
            catch (CertificateOrderException ex)
            {
                // The order's outcome stands; a leftover record only holds a spent value.
                progress?.Report($"{target.Name}: the TXT record at {zone.RecordName} was left: {ex.Message}");
            }
        });
        try
        {
            await WaitForServersAsync(target.Name, zone, value, TimeSpan.FromSeconds(settings.PropagationTimeoutSeconds), progress, cancellationToken);
        }
        catch
        {
            await cleanup.DisposeAsync();
            throw;
        }
        return cleanup;
    }

    private async Task<IPEndPoint> PrimaryAsync(ChallengeZone zone, CancellationToken cancellationToken)
    {
        var addresses = await resolver.AddressesAsync(zone.Primary, cancellationToken);
        return addresses.Count > 0 ? new IPEndPoint(addresses[0], 53)
            : throw new CertificateOrderException($"{zone.Primary}, the primary of {zone.Zone} (its SOA), has no address at {resolver.Server}; name the server to update in acme.dns01.server");
    }

    /// <summary>Asks each authoritative server directly until every one answers the record, or names those that never did.</summary>
    private async Task WaitForServersAsync(string certificate, ChallengeZone zone, string value, TimeSpan timeout, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var waiting = zone.Servers.ToList();
        var lookups = zone.Servers.ToDictionary(s => s, s => new DnsLookup(new IPEndPoint(s.Address, 53), TimeSpan.FromSeconds(2), recursive: false));
        var last = new Dictionary<(string, IPAddress), string>();
        while (true)
        {
            foreach (var server in waiting.ToList())
            {
                var lookup = lookups[server];
                try
                {
                    var answer = await lookup.AskAsync(zone.RecordName, QueryType.TXT, cancellationToken);
                    if (answer.Answers.TxtRecords().Any(r => r.Text.Contains(value, StringComparer.Ordinal)))
                    {
                        waiting.Remove(server);
                    }
                    else
                    {
                        last[server] = "does not show it";
                    }
                }
                catch (DnsLookupException ex)
                {
                    last[server] = ex.Message;
                }
            }
            if (waiting.Count == 0)
            {
                progress?.Report($"{certificate}: all {zone.Servers.Count} server(s) of {zone.Zone} answer the TXT record at {zone.RecordName}; asking the CA to validate");
                return;
            }
            if (DateTime.UtcNow >= deadline)
            {
                throw new CertificateOrderException($"certificate '{certificate}': the TXT record at {zone.RecordName} was not seen on every authoritative server of {zone.Zone} "
                    + $"within {timeout.TotalSeconds:0} s, so the CA was not asked to validate: "
                    + string.Join("; ", waiting.Select(s => $"{s.Name} ({s.Address}): {last.GetValueOrDefault(s, "no answer")}")));
            }
            await Task.Delay(_poll, cancellationToken);
        }
    }
}
