using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace Hawser.Shared.Transport;

/// <summary>
/// A gRPC channel (Grpc.Net.Client) to the controller, or to any gRPC server: TLS pinned to a CA,
/// an optional client certificate, HTTP/2 keepalive pings and message size limits.
/// </summary>
public static class ControllerChannel
{
    /// <summary>A channel to <paramref name="address"/> (https:// for TLS, http:// for cleartext HTTP/2 on loopback).</summary>
    public static GrpcChannel Create(Uri address, ControllerChannelOptions? options = null)
    {
        if (address.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"address '{address}' must be http:// (h2c) or https:// (TLS)", nameof(address));
        }
        options ??= new ControllerChannelOptions();
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = CreateHandler(options),
            DisposeHttpClient = true,
            MaxReceiveMessageSize = options.MaxReceiveMessageSize,
            MaxSendMessageSize = options.MaxSendMessageSize,
        });
    }

    private static SocketsHttpHandler CreateHandler(ControllerChannelOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            ConnectTimeout = options.ConnectTimeout,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = true,
        };
        if (options.ClientCertificate is { } clientCertificate)
        {
            // offline: the chain is built from what is at hand, never fetched; the controller knows its own CA.
            handler.SslOptions.ClientCertificateContext = SslStreamCertificateContext.Create(clientCertificate, additionalCertificates: null, offline: true);
        }
        if (options.ServerCertificateOverride is { } accept)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && accept(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
        }
        else if (options.TrustedCa is { } ca)
        {
            // The chain is built against the pinned CA alone: loading the system's roots costs a whole-process call
            // of hawserctl tens of milliseconds, and they must not be trusted here anyway.
            handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                CustomTrustStore = { ca },
                RevocationMode = X509RevocationMode.NoCheck,
            };
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => ChainsTo(ca, certificate, errors);
        }
        return handler;
    }

    /// <summary>True when <paramref name="certificate"/> names the host asked for and chains to <paramref name="ca"/> alone.</summary>
    internal static bool ChainsTo(X509Certificate2 ca, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }
}
