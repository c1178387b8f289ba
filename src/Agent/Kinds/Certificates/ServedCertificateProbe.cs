using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Hawser.Agent.Kinds.Certificates;

/// <summary>What a server served when asked for a certificate: the leaf's serial and validity, or why nothing was read.</summary>
/// <param name="Certificate">The spec's certificate name.</param>
/// <param name="Target">The address asked (<c>verify.connect</c>).</param>
/// <param name="Serial">The served leaf's serial (hex), or null when none was read.</param>
/// <param name="NotBefore">The served leaf's start of validity.</param>
/// <param name="NotAfter">The served leaf's end of validity.</param>
/// <param name="CoversName">True when the leaf covers the name asked for (SNI).</param>
/// <param name="Error">Why no leaf was read (connection refused, a timeout, a failed handshake); null when one was.</param>
public sealed record ServedCertificate(string Certificate, string Target, string? Serial, DateTimeOffset? NotBefore, DateTimeOffset? NotAfter, bool CoversName,
    string? Error);

/// <summary>
/// Opens TLS to a server the way a client would, with a server name, and reads the leaf it is served. Nothing is
/// trusted or rejected: the chain is not validated, since the question is which certificate is served, not whether
/// a client would accept it. The seam is narrow (one connect, one handshake, bounded by a timeout) so the agent's
/// converge cannot hang on a server that accepts and never answers.
/// </summary>
public static class ServedCertificateProbe
{
    /// <summary>How long a connect and handshake may take together.</summary>
    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(5);

    /// <summary>Reads the leaf served at <paramref name="connect"/> (HOST:PORT) for <paramref name="serverName"/>.</summary>
    public static async Task<ServedCertificate> ReadAsync(string certificate, string connect, string serverName, CancellationToken cancellationToken)
    {
        var colon = connect.LastIndexOf(':');
        var host = connect[..colon].Trim('[', ']');
        var port = int.Parse(connect[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(host, port, timeout.Token);
            // Reading which leaf is served, not trusting it: nothing is sent over this connection.
#pragma warning disable CA5359
            await using var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
#pragma warning restore CA5359
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = serverName,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            }, timeout.Token);
            if (tls.RemoteCertificate is not { } remote)
            {
                return new ServedCertificate(certificate, connect, null, null, null, false, "the server sent no certificate");
            }
            using var leaf = new X509Certificate2(remote);
            return new ServedCertificate(certificate, connect, leaf.SerialNumber, leaf.NotBefore.ToUniversalTime(), leaf.NotAfter.ToUniversalTime(),
                leaf.MatchesHostname(serverName), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ServedCertificate(certificate, connect, null, null, null, false, $"no TLS answer within {Timeout.TotalSeconds:0} s");
        }
        catch (Exception ex) when (ex is SocketException or IOException or AuthenticationException)
        {
            var why = ex is SocketException { SocketErrorCode: SocketError.ConnectionRefused } ? "connection refused (is the server running?)" : ex.Message;
            return new ServedCertificate(certificate, connect, null, null, null, false, why);
        }
    }
}
