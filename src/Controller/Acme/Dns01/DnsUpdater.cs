using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using ARSoft.Tools.Net.Dns.DynamicUpdate;

namespace Hawser.Controller.Acme.Dns01;

/// <summary>
/// Adds and removes one TXT record with RFC 2136 dynamic updates, each signed with the TSIG key
/// (ARSoft.Tools.Net builds, signs and checks the messages). A refusal names the server and its answer.
/// </summary>
public sealed class DnsUpdater(IPEndPoint server, TsigKey key, TimeSpan timeout)
{
    /// <summary>Where updates go.</summary>
    public IPEndPoint Server { get; } = server;

    /// <summary>Adds TXT <paramref name="value"/> at <paramref name="name"/> in <paramref name="zone"/>.</summary>
    public Task AddTxtAsync(string zone, string name, string value, CancellationToken cancellationToken) =>
        SendAsync(zone, name, new AddRecordUpdate(new TxtRecord(DomainName.Parse(name), 60, value)), "add", cancellationToken);

    /// <summary>Removes exactly that TXT record (others at the name stay: another order may be using them).</summary>
    public Task RemoveTxtAsync(string zone, string name, string value, CancellationToken cancellationToken) =>
        SendAsync(zone, name, new DeleteRecordUpdate(new TxtRecord(DomainName.Parse(name), 0, value)), "remove", cancellationToken);

    private async Task SendAsync(string zone, string name, UpdateBase update, string verb, CancellationToken cancellationToken)
    {
        var message = new DnsUpdateMessage { ZoneName = DomainName.Parse(zone) };
        message.Updates.Add(update);
        message.TSigOptions = new TSigRecord(DomainName.Parse(key.Name), Algorithm(key.Algorithm), DateTime.UtcNow, TimeSpan.FromMinutes(5),
            message.TransactionID, ReturnCode.NoError, null, key.Secret);
        using var client = new ARSoft.Tools.Net.Dns.DnsClient([Server.Address], [new UdpClientTransport(Server.Port), new TcpClientTransport(Server.Port)], false, (int)timeout.TotalMilliseconds);
        DnsUpdateMessage? answer;
        try
        {
            answer = await client.SendUpdateAsync(message, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new CertificateOrderException($"the DNS update to {verb} TXT {name} could not be sent to {Server}: {ex.Message}", ex);
        }
        if (answer is null)
        {
            throw new CertificateOrderException($"the DNS server {Server} did not answer the update to {verb} TXT {name} within {timeout.TotalSeconds:0} s");
        }
        if (answer.ReturnCode != ReturnCode.NoError)
        {
            var tsig = answer.TSigOptions is { Error: not ReturnCode.NoError } signature ? $", TSIG {Word(signature.Error)}" : "";
            var hint = tsig.Length > 0 ? $" (the server does not know key '{key.Name}' with this secret)"
                : answer.ReturnCode is ReturnCode.NotAuthoritive or ReturnCode.Refused ? $" (is key '{key.Name}' allowed to update {zone} there?)" : "";
            throw new CertificateOrderException($"the DNS server {Server} refused the update to {verb} TXT {name} in zone {zone}: {Word(answer.ReturnCode)}{tsig}{hint}");
        }
    }

    /// <summary>The RCODE's name as DNS tools print it.</summary>
    private static string Word(ReturnCode code) => code switch
    {
        ReturnCode.NotAuthoritive => "NOTAUTH",
        ReturnCode.Refused => "REFUSED",
        ReturnCode.ServerFailure => "SERVFAIL",
        ReturnCode.NxDomain => "NXDOMAIN",
        ReturnCode.NotZone => "NOTZONE",
        ReturnCode.FormatError => "FORMERR",
        ReturnCode.BadSig => "BADSIG",
        ReturnCode.BadKey => "BADKEY",
        ReturnCode.BadTime => "BADTIME",
        _ => code.ToString().ToUpperInvariant(),
    };

    private static TSigAlgorithm Algorithm(string name) => name switch
    {
        "hmac-sha1" => TSigAlgorithm.Sha1,
        "hmac-sha224" => TSigAlgorithm.Sha224,
        "hmac-sha256" => TSigAlgorithm.Sha256,
        "hmac-sha384" => TSigAlgorithm.Sha384,
        "hmac-sha512" => TSigAlgorithm.Sha512,
        _ => throw new CertificateOrderException($"TSIG algorithm {name} is not supported"),
    };
}
