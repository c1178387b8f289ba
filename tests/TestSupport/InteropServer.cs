using System.Net;
using Hawser.Shared.Rpc.Server;

namespace Hawser.TestSupport;

/// <summary>Hawser's own gRPC server on a free loopback port, serving the interop service.</summary>
public sealed class InteropServer : IAsyncDisposable
{
    private readonly RpcHost _host;

    private InteropServer(RpcHost host, InteropService service)
    {
        _host = host;
        Service = service;
    }

    /// <summary>The service, with what it observed.</summary>
    public InteropService Service { get; }

    /// <summary>The h2c base address, http://127.0.0.1:PORT/.</summary>
    public Uri Address => _host.Addresses[0];

    /// <summary>host:port, as grpc-js and grpcio take it.</summary>
    public string HostPort => $"{Address.Host}:{Address.Port}";

    /// <summary>Starts a server with the given limits.</summary>
    public static async Task<InteropServer> StartAsync(RpcServerOptions? options = null)
    {
        var service = new InteropService();
        var server = service.MapTo(new RpcServer(options));
        var host = await RpcHost.StartAsync(server, [new RpcListenOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0) }]);
        return new InteropServer(host, service);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
