using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace Hawser.Controller.Acme;

/// <summary>A DNS query that failed: the server's answer code or no answer at all.</summary>
public sealed class DnsLookupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Asks one DNS server, and only that one, for a name's A and AAAA records (DnsClient: UDP, then TCP
/// when the answer is truncated). Not the system resolver: getaddrinfo would mix in /etc/hosts and
/// hide which family a CA sees.
/// </summary>
public sealed class DnsLookup
{
    private readonly LookupClient _client;
    private readonly TimeSpan _timeout;

    /// <summary>
    /// A lookup that asks <paramref name="server"/> and gives up on it after <paramref name="timeout"/> (3 s);
    /// <paramref name="recursive"/> false asks an authoritative server for what it holds itself.
    /// </summary>
    public DnsLookup(IPEndPoint server, TimeSpan? timeout = null, bool recursive = true)
    {
        Server = server;
        _timeout = timeout ?? TimeSpan.FromSeconds(3);
        _client = new LookupClient(new LookupClientOptions(new NameServer(server))
        {
            UseCache = false,
            Timeout = _timeout,
            Retries = 0,
            UseTcpFallback = true,
            ThrowDnsErrors = false,
            ContinueOnDnsError = false,
            ContinueOnEmptyResponse = false,
            AutoResolveNameServers = false,
            Recursion = recursive,
            // A 512-byte UDP answer (no EDNS), as RFC 1035 has it: a larger one arrives truncated and is asked again over TCP.
            ExtendedDnsBufferSize = 512,
        });
    }

    /// <summary>The server asked.</summary>
    public IPEndPoint Server { get; }

    /// <summary>The first nameserver in <paramref name="resolvConf"/> on port 53, or 127.0.0.1 when it names none.</summary>
    public static IPEndPoint SystemServer(string resolvConf = "/etc/resolv.conf")
    {
        var lines = File.Exists(resolvConf) ? File.ReadAllLines(resolvConf) : [];
        foreach (var line in lines)
        {
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields is ["nameserver", var address, ..] && IPAddress.TryParse(address, out var ip))
            {
                return new IPEndPoint(ip, 53);
            }
        }
        return new IPEndPoint(IPAddress.Loopback, 53);
    }

    /// <summary>Parses <c>ADDRESS</c>, <c>ADDRESS:PORT</c> or <c>[V6]:PORT</c> (port 53 by default).</summary>
    public static IPEndPoint ParseServer(string text) =>
        IPEndPoint.TryParse(text, out var endpoint) ? (endpoint.Port == 0 ? new IPEndPoint(endpoint.Address, 53) : endpoint)
            : throw new FormatException($"'{text}' is not a DNS server address (ADDRESS or ADDRESS:PORT)");

    /// <summary>Every A and AAAA address of <paramref name="name"/>, A first, each in the server's order.</summary>
    public async Task<IReadOnlyList<IPAddress>> AddressesAsync(string name, CancellationToken cancellationToken)
    {
        var v4 = await QueryAsync(name, QueryType.A, cancellationToken);
        var v6 = await QueryAsync(name, QueryType.AAAA, cancellationToken);
        return [.. v4, .. v6];
    }

    private async Task<IEnumerable<IPAddress>> QueryAsync(string name, QueryType type, CancellationToken cancellationToken)
    {
        var response = await AskAsync(name, type, cancellationToken);
        // The records of the type asked, following the CNAMEs the server resolved.
        return type == QueryType.A
            ? response.Answers.OfType<ARecord>().Select(r => r.Address)
            : response.Answers.OfType<AaaaRecord>().Select(r => r.Address);
    }

    /// <summary>The server's answer for <paramref name="name"/> and <paramref name="type"/> (an NXDOMAIN answer included); throws <see cref="DnsLookupException"/> for no answer or another error.</summary>
    public async Task<IDnsQueryResponse> AskAsync(string name, QueryType type, CancellationToken cancellationToken)
    {
        IDnsQueryResponse response;
        try
        {
            response = await _client.QueryAsync(name, type, QueryClass.IN, cancellationToken);
        }
        catch (DnsResponseException ex) when (ex.Code == DnsResponseCode.ConnectionTimeout)
        {
            throw new DnsLookupException($"DNS server {Server} did not answer for {name} ({type}) within {_timeout.TotalSeconds:0.#} s", ex);
        }
        catch (DnsResponseException ex)
        {
            throw new DnsLookupException($"DNS server {Server} gave no usable answer for {name} ({type}): {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            throw new DnsLookupException($"'{name}' is not a DNS name: {ex.Message}", ex);
        }
        if (response.HasError && response.Header.ResponseCode != DnsHeaderResponseCode.NotExistentDomain)
        {
            throw new DnsLookupException($"DNS server {Server} answered {response.ErrorMessage} for {name} ({type})");
        }
        return response;
    }
}
