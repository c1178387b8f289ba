using Hawser.Controller.Api;
using Hawser.Controller.Pki;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store;
using Hawser.Controller.Web;
using Hawser.Shared.ServiceHosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Hosting;

/// <summary>
/// The controller as one generic host: Kestrel serving gRPC, the web UI and /metrics on one TLS port, and the loops
/// (<see cref="ControllerServices"/>). Started, it says where it listens and <c>ready</c>; stopped, it closes every agent
/// stream first (agents move to another controller at once), then waits up to <see cref="ControllerOptions.ShutdownTimeout"/>
/// for calls and loops to end.
/// </summary>
public sealed class ControllerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ControllerHost(WebApplication app) => _app = app;

    /// <summary>The host's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Builds the host on an opened <paramref name="store"/> and <paramref name="pki"/>; nothing listens or runs yet.</summary>
    public static ControllerHost Build(ControllerOptions options, ControllerStore store, ControllerPki pki)
    {
        var builder = GrpcHost.CreateBuilder([new GrpcListenOptions
        {
            EndPoint = options.Listen,
            Certificate = pki.ServerCertificate,
            // Anonymous callers may enroll; every other method needs the identity MethodAuthorization names.
            ClientCertificateMode = ClientCertificateMode.AllowCertificate,
            ClientCertificateValidation = (certificate, _, _) => pki.ValidateClient(certificate),
        }], logging => logging.AddServiceConsole(options.LogFormat, LogLevel.Information)
            // The framework's own lines only when something is wrong; the controller's at Information.
            .AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning).AddFilter("System", LogLevel.Warning));
        builder.Services.AddController(options, store, pki);
        var app = builder.Build();
        // The web UI's sign-in (cookies, the identity provider's callback) and its login rate limit; gRPC callers present none of it.
        app.UseAuthentication();
        app.UseRateLimiter();
        app.MapGrpcService<ControlApi>();
        app.MapGrpcService<EnrollmentApi>();
        app.MapGrpcService<AgentSessions>();
        app.MapGrpcHealthChecksService();
        MetricsEndpoint.Map(app, app.Services.GetRequiredService<TokenFile>(), app.Services.GetRequiredService<ControllerMetrics>(),
            app.Services.GetRequiredService<CallerIdentity>());
        app.Services.GetRequiredService<TokenFile>().Ensure();
        app.Services.GetRequiredService<WebApi>().MapTo(app);
        ControllerServices.Connect(app.Services);
        var sessions = app.Services.GetRequiredService<AgentSessions>();
        app.Lifetime.ApplicationStopping.Register(sessions.CloseAll);
        return new ControllerHost(app);
    }

    /// <summary>
    /// Listens, calls <paramref name="serving"/> with the bound addresses, then starts the loops; returns once serving.
    /// A listen failure throws (IOException or SocketException).
    /// </summary>
    public async Task<IReadOnlyList<Uri>> StartAsync(Action<IReadOnlyList<Uri>> serving, CancellationToken cancellationToken)
    {
        // The certificates agents are sent, in memory before the first agent connects.
        await Services.GetRequiredService<Acme.CertificateMaterials>().RefreshAsync(Services.GetRequiredService<ControllerStore>(),
            Services.GetRequiredService<SecretBox>(), null, cancellationToken);
        var addresses = await GrpcHost.StartAsync(_app, cancellationToken);
        serving(addresses);
        Services.GetRequiredService<JobsGate>().Open();
        return addresses;
    }

    /// <summary>Stops: agent streams closed, calls and loops given the grace period, then disposed.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
