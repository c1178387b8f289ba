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
        if (options.ConnectTo is { } address)
        {
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
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
            // With that policy, no error means: the name matches and the chain ends at the pinned CA.
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, errors) => errors == SslPolicyErrors.None;
        }
        return handler;
    }
}
