using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;

namespace Hawser.Shared.Rpc.Client;

/// <summary>
/// A gRPC client connection to one server: HTTP/2 over TLS (ALPN h2) for https addresses, or
/// cleartext h2c with prior knowledge for http addresses. Calls share the channel's connections.
/// </summary>
public sealed class RpcChannel : IDisposable
{
    private readonly HttpClient _client;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Uri> _methodUris = new(StringComparer.Ordinal);

    /// <summary>Creates a channel; nothing connects until the first call.</summary>
    public RpcChannel(Uri address, RpcChannelOptions? options = null)
    {
        if (address.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"address '{address}' must be http:// (h2c) or https:// (TLS)", nameof(address));
        }
        Address = address;
        Options = options ?? new RpcChannelOptions();
        _client = new HttpClient(CreateHandler(Options), disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan, // deadlines are per call
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <summary>The server's base address.</summary>
    public Uri Address { get; }

    /// <summary>The channel's settings.</summary>
    public RpcChannelOptions Options { get; }

    /// <summary>Makes a unary call and returns its response; throws <see cref="RpcException"/> on a non-OK status.</summary>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        using var call = Start(method, MethodType.Unary, request, options);
        return await call.ResponseAsync.ConfigureAwait(false);
    }

    /// <summary>Starts a unary call whose headers, trailers and status stay readable.</summary>
    public RpcCall<TRequest, TResponse> StartUnary<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        Start(method, MethodType.Unary, request, options);

    /// <summary>Starts a server-streaming call; read responses with <see cref="RpcCall{TRequest,TResponse}.ReadAllAsync"/>.</summary>
    public RpcCall<TRequest, TResponse> ServerStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        Start(method, MethodType.ServerStreaming, request, options);

    /// <summary>Starts a client-streaming call; write requests, complete, then await the response.</summary>
    public RpcCall<TRequest, TResponse> ClientStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        Start(method, MethodType.ClientStreaming, null, options);

    /// <summary>Starts a bidirectional call; writes and reads may interleave freely.</summary>
    public RpcCall<TRequest, TResponse> DuplexStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions? options = null)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        Start(method, MethodType.DuplexStreaming, null, options);

    /// <summary>Closes the channel's connections; calls in flight fail.</summary>
    public void Dispose() => _client.Dispose();

    private RpcCall<TRequest, TResponse> Start<TRequest, TResponse>(Method<TRequest, TResponse> method, MethodType expected, TRequest? request, CallOptions? options)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        if (method.Type != expected)
        {
            throw new ArgumentException($"{method.Path} is {method.Type}, not {expected}", nameof(method));
        }
        // Parsing a Uri per call is measurable at loopback latencies; each method's is built once.
        var uri = _methodUris.GetOrAdd(method.Path, static (path, address) => new Uri(address, path), Address);
        return new RpcCall<TRequest, TResponse>(_client, uri, method, request, Options, options ?? new CallOptions());
    }

    private static SocketsHttpHandler CreateHandler(RpcChannelOptions options)
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
        handler.SslOptions.ApplicationProtocols = [SslApplicationProtocol.Http2];
        if (options.ClientCertificate is { } clientCertificate)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }
        if (options.ServerCertificateOverride is { } accept)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && accept(new X509Certificate2(certificate));
        }
        else if (options.TrustedCa is { } ca)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                ChainsTo(ca, certificate, errors);
        }
        return handler;
    }

    /// <summary>Accepts a server certificate only when it chains to <paramref name="ca"/> and names the host.</summary>
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
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
