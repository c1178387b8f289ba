using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Hosting;

/// <summary>Where and how a <see cref="GrpcHost"/> listens.</summary>
public sealed record GrpcListenOptions
{
    /// <summary>Address and port; port 0 picks a free one (see <see cref="GrpcHost.Addresses"/>).</summary>
    public required IPEndPoint EndPoint { get; init; }

    /// <summary>Serving certificate; null listens in cleartext h2c (prior knowledge), meant for loopback.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>Whether TLS clients must present a certificate.</summary>
    public ClientCertificateMode ClientCertificateMode { get; init; } = ClientCertificateMode.NoCertificate;

    /// <summary>Validates a client certificate; required when clients present one.</summary>
    public Func<X509Certificate2, X509Chain?, System.Net.Security.SslPolicyErrors, bool>? ClientCertificateValidation { get; init; }
}

/// <summary>
/// Kestrel with Grpc.AspNetCore: the controller's one port for gRPC (h2 by ALPN) and, over TLS, the
/// web UI (HTTP/1.1). Limits every gRPC service shares are set here: 4 MiB messages each way
/// (a larger length prefix is refused with RESOURCE_EXHAUSTED before anything is read), gzip
/// accepted, HTTP/2 keepalive pings that find dead agents.
/// </summary>
public sealed class GrpcHost : IAsyncDisposable
{
    /// <summary>Largest message received or sent by a service.</summary>
    public const int MaxMessageSize = 4 * 1024 * 1024;

    private readonly WebApplication _app;

    private GrpcHost(WebApplication app, IReadOnlyList<Uri> addresses)
    {
        _app = app;
        Addresses = addresses;
    }

    /// <summary>The addresses actually bound, with real ports.</summary>
    public IReadOnlyList<Uri> Addresses { get; }

    /// <summary>The application's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts listening and returns once the sockets are bound. <paramref name="configureServices"/> registers the
    /// gRPC services' instances and interceptors (<c>Configure&lt;GrpcServiceOptions&gt;</c>); <paramref name="configureApp"/>
    /// maps them (and anything else).
    /// </summary>
    public static async Task<GrpcHost> StartAsync(IEnumerable<GrpcListenOptions> listen,
        Action<IServiceCollection>? configureServices, Action<WebApplication> configureApp,
        Action<ILoggingBuilder>? configureLogging = null, CancellationToken cancellationToken = default)
    {
        var builder = CreateBuilder(listen, configureLogging);
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        configureApp(app);
        return new GrpcHost(app, await StartAsync(app, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// A web application builder with Kestrel listening on <paramref name="listen"/> and gRPC's shared limits set;
    /// the caller adds its services, builds, maps and starts it with <see cref="StartAsync(WebApplication, CancellationToken)"/>.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(IEnumerable<GrpcListenOptions> listen, Action<ILoggingBuilder>? configureLogging = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        configureLogging?.Invoke(builder.Logging);
        // A failed start (an address not on this host, a port in use) is the caller's to say in one line; the host
        // would log it first with a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        // The console lifetime would take SIGTERM and SIGINT and only request a host stop; signals
        // belong to the program that owns the process (System.CommandLine's token, or the default exit).
        builder.Services.AddSingleton<IHostLifetime, PassiveHostLifetime>();
        builder.Services.AddGrpc(options =>
        {
            options.MaxReceiveMessageSize = MaxMessageSize;
            options.MaxSendMessageSize = MaxMessageSize;
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
            kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
            foreach (var endpoint in listen)
            {
                kestrel.Listen(endpoint.EndPoint, options => Configure(options, endpoint));
            }
        });
        return builder;
    }

    /// <summary>Starts <paramref name="app"/> and returns the addresses actually bound, with real ports.</summary>
    public static async Task<IReadOnlyList<Uri>> StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.Select(a => new Uri(a)).ToList();
    }

    /// <summary>Stops accepting calls and waits briefly for those in flight.</summary>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static void Configure(ListenOptions options, GrpcListenOptions endpoint)
    {
        if (endpoint.Certificate is null)
        {
            options.Protocols = HttpProtocols.Http2;
            return;
        }
        // TLS: h2 for gRPC by ALPN, HTTP/1.1 for browsers of the web UI.
        options.Protocols = HttpProtocols.Http1AndHttp2;
        options.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = endpoint.Certificate,
            ClientCertificateMode = endpoint.ClientCertificateMode,
            ClientCertificateValidation = endpoint.ClientCertificateValidation,
        });
    }
}
