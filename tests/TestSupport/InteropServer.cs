using System.Net;
using Hawser.Controller.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Hawser.TestSupport;

/// <summary>The controller's gRPC host (<see cref="GrpcHost"/>) on a free loopback port, serving the interop service.</summary>
public sealed class InteropServer : IAsyncDisposable
{
    private readonly GrpcHost _host;

    private InteropServer(GrpcHost host, InteropService service)
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

    /// <summary>Starts a server with the controller's limits; with <paramref name="failureLog"/>, also the controller's failure interceptor logging there.</summary>
    public static async Task<InteropServer> StartAsync(Microsoft.Extensions.Logging.ILogger? failureLog = null)
    {
        var service = new InteropService();
        var host = await GrpcHost.StartAsync([new GrpcListenOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0) }],
            services =>
            {
                services.AddSingleton(service);
                if (failureLog is not null)
                {
                    services.AddSingleton(new Hawser.Controller.Api.FailureInterceptor(failureLog));
                    services.Configure<Grpc.AspNetCore.Server.GrpcServiceOptions>(options => options.Interceptors.Add<Hawser.Controller.Api.FailureInterceptor>());
                }
            },
            app => app.MapGrpcService<InteropService>());
        return new InteropServer(host, service);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
