using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace Hawser.Controller.Acme.Dns01;

/// <summary>Where a DNS-01 record goes: the name after its CNAMEs, its zone, the zone's primary and every authoritative server.</summary>
/// <param name="ChallengeName">The name the CA looks up, <c>_acme-challenge.DOMAIN</c>.</param>
/// <param name="RecordName">Where the TXT record is written: the challenge name, or where its CNAMEs lead.</param>
/// <param name="Zone">The zone holding <paramref name="RecordName"/>.</param>
/// <param name="Primary">The zone's primary server name (its SOA MNAME).</param>
/// <param name="Servers">Every authoritative server of the zone (its NS records), by name and address.</param>
public sealed record ChallengeZone(string ChallengeName, string RecordName, string Zone, string Primary, IReadOnlyList<(string Name, IPAddress Address)> Servers)
{
    /// <summary>How many CNAMEs are followed before the chain is called a loop.</summary>
    public const int MaxCnames = 8;

    /// <summary>
    /// Follows <c>_acme-challenge.DOMAIN</c>'s CNAMEs with <paramref name="resolver"/> (a delegation such as
    /// <c>_acme-challenge.www.example.org CNAME www.acme.example.net</c>), then finds the zone holding the
    /// end of the chain from its SOA record, and the zone's servers from its NS records.
    /// </summary>
    public static async Task<ChallengeZone> FindAsync(DnsLookup resolver, string domain, CancellationToken cancellationToken)
    {
        var challenge = "_acme-challenge." + (domain.StartsWith("*.", StringComparison.Ordinal) ? domain[2..] : domain);
        var name = challenge;
        var seen = new List<string> { name };
        while (true)
        {
            var answer = await resolver.AskAsync(name, QueryType.CNAME, cancellationToken);
            if (answer.Answers.CnameRecords().FirstOrDefault(r => Same(r.DomainName, name)) is not { } cname)
            {
                break;
            }
            name = cname.CanonicalName.Value.TrimEnd('.');
            if (seen.Contains(name, StringComparer.OrdinalIgnoreCase) || seen.Count > MaxCnames)
            {
                throw new CertificateOrderException($"the CNAMEs from {challenge} do not end ({string.Join(" -> ", seen)} -> {name})");
            }
            seen.Add(name);
        }
        var (zone, primary) = await ZoneOfAsync(resolver, name, cancellationToken);
        var servers = new List<(string, IPAddress)>();
        var ns = await resolver.AskAsync(zone, QueryType.NS, cancellationToken);
        foreach (var server in ns.Answers.NsRecords().Select(r => r.NSDName.Value.TrimEnd('.')).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal))
        {
            var addresses = await resolver.AddressesAsync(server, cancellationToken);
            if (addresses.Count == 0)
            {
                throw new CertificateOrderException($"{server}, a name server of {zone}, has no address at {resolver.Server}");
            }
            servers.AddRange(addresses.Select(a => (server, a)));
        }
        if (servers.Count == 0)
        {
            throw new CertificateOrderException($"zone {zone} (holding {name}) has no NS records at {resolver.Server}");
        }
        return new ChallengeZone(challenge, name, zone, primary, servers);
    }

    /// <summary>The zone that holds <paramref name="name"/>: the owner of the SOA record its answer carries, asking one label up while there is none.</summary>
    private static async Task<(string Zone, string Primary)> ZoneOfAsync(DnsLookup resolver, string name, CancellationToken cancellationToken)
    {
        for (var candidate = name; candidate.Length > 0; candidate = candidate.Contains('.', StringComparison.Ordinal) ? candidate[(candidate.IndexOf('.', StringComparison.Ordinal) + 1)..] : "")
        {
            var answer = await resolver.AskAsync(candidate, QueryType.SOA, cancellationToken);
            if (answer.Answers.SoaRecords().Concat(answer.Authorities.SoaRecords()).FirstOrDefault() is { } soa)
            {
                return (soa.DomainName.Value.TrimEnd('.'), soa.MName.Value.TrimEnd('.'));
            }
        }
        throw new CertificateOrderException($"no zone holding {name} was found at {resolver.Server} (no SOA record for it or a parent)");
    }

    private static bool Same(DnsString a, string b) => string.Equals(a.Value.TrimEnd('.'), b, StringComparison.OrdinalIgnoreCase);
}
