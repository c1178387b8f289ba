using Grpc.AspNetCore.Server;
using Hawser.Controller.Acme;
using Hawser.Controller.Api;
using Hawser.Controller.Notifications;
using Hawser.Controller.Pki;
using Hawser.Controller.Rollouts;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store;
using Hawser.Controller.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Hosting;

/// <summary>
/// The controller's services and loops, registered once: every part is a singleton built from the parts it needs, and
/// every loop a <see cref="SupervisedJob"/> the host starts and stops. The store and the PKI are opened by the caller
/// first, so that a missing data directory or an unreachable database is said before anything listens.
/// </summary>
public static class ControllerServices
{
    /// <summary>The log category of the controller's own lines.</summary>
    public const string LogCategory = "hawser-controller";

    /// <summary>Registers everything <c>hawser-controller run</c> serves and runs.</summary>
    public static IServiceCollection AddController(this IServiceCollection services, ControllerOptions options, ControllerStore store, ControllerPki pki)
    {
        var data = options.DataDirectory;
        services.AddSingleton(options).AddSingleton(store).AddSingleton(pki);
        services.AddSingleton(sp => sp.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory));
        services.AddSingleton(sp => new BackgroundJobs(sp.GetRequiredService<ILogger>()));
        services.AddSingleton<JobsGate>();
        services.AddSingleton(_ => SecretBox.Open(data));
        services.AddSingleton<CertificateMaterials>();
        services.AddSingleton(sp => new DesiredStates(store, sp.GetRequiredService<CertificateMaterials>()));
        services.AddSingleton(sp => new AgentSessions(store, sp.GetRequiredService<DesiredStates>(), sp.GetRequiredService<ILogger>(),
            new NodeRateLimits(new NodeRateOptions { SendQueueBytes = options.NodeSendQueueBytes })));

        // The API edge: who calls, what they may do, what is refused.
        services.AddSingleton(sp => new RefusalLog(store, sp.GetRequiredService<ILogger>()));
        services.AddSingleton(sp => new CallerIdentity(store, sp.GetRequiredService<RefusalLog>(), options.AnonymousRate));
        services.AddSingleton(sp => new FailureInterceptor(sp.GetRequiredService<ILogger>()));
        services.AddSingleton(sp => new AuthorizationInterceptor(sp.GetRequiredService<CallerIdentity>()));
        services.AddSingleton(sp => new MetricsInterceptor(sp.GetRequiredService<ControllerMetrics>()));
        services.AddSingleton(sp => new ControllerMetrics(store, sp.GetRequiredService<AgentSessions>(), sp.GetRequiredService<BackgroundJobs>()));
        services.AddSingleton(_ => new TokenFile(Path.Combine(data, MetricsEndpoint.TokenFileName)));

        // Certificates: ACME over the CA's HTTPS, a preflight through the agents, DNS for DNS-01.
        services.AddSingleton(_ => new DnsLookup(options.AcmeResolver));
        services.AddKeyedSingleton(AcmeHttpKey, (_, _) => AcmeHttp.Create(options.AcmeCaFile));
        services.AddSingleton(sp => new CertificatePreflight(sp.GetRequiredService<AgentSessions>(), sp.GetRequiredService<DnsLookup>(), TimeSpan.FromSeconds(10), store));
        services.AddSingleton(sp => new CertificateIssuer(store, sp.GetRequiredService<SecretBox>(), sp.GetRequiredService<CertificateMaterials>(),
            sp.GetRequiredService<AgentSessions>(), sp.GetRequiredKeyedService<HttpClient>(AcmeHttpKey), new CertificateIssuerOptions
            {
                Preflight = sp.GetRequiredService<CertificatePreflight>(),
                Solvers = [new Acme.Dns01.Dns01Solver(sp.GetRequiredService<DnsLookup>())],
            }));
        services.AddSingleton(sp => new CertificateRenewer(store, sp.GetRequiredService<DesiredStates>(), sp.GetRequiredService<CertificateIssuer>(),
            sp.GetRequiredService<ILogger>(), options.CertificateCheck, options.CertificateRetry)
        {
            Holder = sp.GetRequiredService<AgentSessions>().ControllerId,
            LeaseTtl = options.LeaseTtl,
        });
        services.AddSingleton(sp => new RolloutEngine(store, sp.GetRequiredService<DesiredStates>(), sp.GetRequiredService<AgentSessions>(),
            sp.GetRequiredService<ILogger>()) { LeaseTtl = options.LeaseTtl });

        // The gRPC services and the web UI.
        services.AddSingleton(sp => new CertificatesApi(store, sp.GetRequiredService<CertificateRenewer>()));
        services.AddSingleton(sp => new RolloutsApi(store, sp.GetRequiredService<RolloutEngine>()));
        services.AddSingleton(sp => new ControlApi(store, pki, sp.GetRequiredService<AgentSessions>(), sp.GetRequiredService<DesiredStates>(),
            sp.GetRequiredService<CertificatesApi>(), sp.GetRequiredService<RolloutsApi>(), sp.GetRequiredService<CertificateRenewer>().Wake,
            sp.GetRequiredService<RolloutEngine>(), sp.GetRequiredService<ILogger>(), sp.GetRequiredService<OperatorsApi>(), sp.GetRequiredService<RefusalLog>(), sp.GetRequiredService<ScopedChanges>(),
            sp.GetRequiredService<NotificationsApi>(), sp.GetRequiredService<AgentReleasesApi>()));
        services.AddSingleton(_ => new AgentReleasesApi(store, options.ReleaseKey, options.DataDirectory));
        services.AddSingleton(sp => new ScopedChanges(store, sp.GetRequiredService<DesiredStates>(), sp.GetRequiredService<CertificateRenewer>()));
        services.AddSingleton(sp => new OperatorsApi(store, pki, sp.GetRequiredService<RefusalLog>()));
        services.AddSingleton(sp => new EnrollmentApi(store, pki, sp.GetRequiredService<ILogger>(), sp.GetRequiredService<RefusalLog>(), sp.GetRequiredService<OperatorsApi>()));
        services.AddSingleton(_ =>
        {
            var logins = new WebSignIn(Path.Combine(data, "ui-token"), store, breakGlass: options.WebBreakGlass);
            logins.EnsureToken();
            return logins;
        });
        services.AddSingleton<WebEvents>();
        services.AddSingleton<WebLiveFeed>();
        services.AddSingleton(sp => new WebApi(store, sp.GetRequiredService<AgentSessions>(), sp.GetRequiredService<RolloutEngine>(),
            sp.GetRequiredService<CertificateRenewer>(), sp.GetRequiredService<WebSignIn>(), sp.GetRequiredService<WebEvents>(),
            sp.GetRequiredService<CallerIdentity>(), sp.GetRequiredService<Microsoft.AspNetCore.Antiforgery.IAntiforgery>(), sp.GetRequiredService<RefusalLog>(), sp.GetRequiredService<ScopedChanges>(),
            sp.GetRequiredService<DesiredStates>(), sp.GetRequiredService<BackgroundJobs>(), options.Sso));
        services.AddWebAuthentication(store, SecretBox.Open(data), options.Sso);

        // A node's messages are bounded tighter than the operator's: what one node sends never nears the 4 MiB limit.
        services.AddGrpc().AddServiceOptions<AgentSessions>(o => o.MaxReceiveMessageSize = NodeInputBounds.MaxAgentMessageBytes);
        services.Configure<GrpcServiceOptions>(o =>
        {
            o.Interceptors.Add<MetricsInterceptor>();
            o.Interceptors.Add<FailureInterceptor>();
            o.Interceptors.Add<AuthorizationInterceptor>();
        });
        // Evaluated on each Check call, not from a cache refreshed every 30 s.
        services.AddGrpcHealthChecks(o => o.UseHealthChecksCache = false).AddCheck<JobsHealthCheck>("background-jobs");
        MetricsEndpoint.AddServices(services);
        if (options.OtlpEndpoint is { } otlp)
        {
            Tracing.TracingExport.AddServices(services, otlp);
        }
        services.Configure<HostOptions>(o => ConfigureStop(o, options.ShutdownTimeout));

        // Notifications: off without --notifications (no router: no outbox rows, nothing asked on the report path, no loop).
        if (options.Notifications is { } notifications)
        {
            store.Outbox.Router = new NotificationRouter(notifications);
            services.AddSingleton(sp =>
            {
                var sender = new NotificationSender(store, notifications, sp.GetRequiredService<AgentSessions>(), NotificationHttp(), sp.GetRequiredService<ILogger>())
                {
                    Holder = sp.GetRequiredService<AgentSessions>().ControllerId, LeaseTtl = options.LeaseTtl, Poll = options.StorePoll,
                };
                store.Outbox.Queued += sender.Wake;
                return sender;
            });
            services.AddJob("notification sender", sp => sp.GetRequiredService<NotificationSender>().RunAsync);
        }
        services.AddSingleton(sp => new NotificationsApi(store, options.Notifications,
            options.Notifications is null ? null : sp.GetRequiredService<NotificationSender>()));

        // The loops, each supervised.
        services.AddJob("certificate renewer", sp => sp.GetRequiredService<CertificateRenewer>().RunAsync);
        services.AddJob("rollout engine", sp => sp.GetRequiredService<RolloutEngine>().RunAsync);
        services.AddJob("event pruner", sp => new EventPruner(store, options.EventRetention, sp.GetRequiredService<ILogger>()).RunAsync);
        services.AddJob("refusal counts", sp => sp.GetRequiredService<RefusalLog>().RunAsync);
        services.AddJob("web event log feed", sp => cancellationToken => sp.GetRequiredService<WebLiveFeed>().FollowLogAsync(store, cancellationToken));
        if (store.Engine.IsShared)
        {
            services.AddSingleton(sp => FleetSyncFor(sp, store));
            services.AddSingleton(sp =>
            {
                var watcher = new StoreWatcher(store, options.StorePoll, options.StoreNotify, sp.GetRequiredService<ILogger>());
                watcher.Changed += sp.GetRequiredService<FleetSync>().OnChanged;
                return watcher;
            });
            services.AddJob("controller lease", sp =>
            {
                var id = sp.GetRequiredService<AgentSessions>().ControllerId;
                var logger = sp.GetRequiredService<ILogger>();
                return ct => LeaseKeeping.KeepAsync(store, ControllerStore.ControllerLeasePrefix + id, id, options.LeaseTtl, logger, ct);
            });
            services.AddJob("store sync", sp => sp.GetRequiredService<FleetSync>().RunAsync);
            services.AddJob("store watcher", sp => sp.GetRequiredService<StoreWatcher>().RunAsync);
        }
        return services;
    }

    /// <summary>
    /// Connects the parts that tell each other of changes (which would be a cycle as constructor arguments): a report
    /// wakes the rollout engine and a certificate order waiting for its node, and rollouts and reports reach the web UI's live view.
    /// </summary>
    public static void Connect(IServiceProvider services)
    {
        var rollouts = services.GetRequiredService<RolloutEngine>();
        var feed = services.GetRequiredService<WebLiveFeed>();
        rollouts.Changed += feed.Rollout;
        var renewer = services.GetRequiredService<CertificateRenewer>();
        services.GetRequiredService<AgentSessions>().Reported = node =>
        {
            rollouts.WakeForReport();
            feed.Nodes(node);
            renewer.NodeReported(node);
        };
    }

    /// <summary>
    /// Every service is stopped at once and shares <paramref name="grace"/>: stopped one after another, a loop stuck in a
    /// call would use up the whole grace period and leave none to the others.
    /// </summary>
    public static void ConfigureStop(HostOptions options, TimeSpan grace)
    {
        options.ShutdownTimeout = grace;
        options.ServicesStopConcurrently = true;
    }

    private const string AcmeHttpKey = "acme";

    /// <summary>The client notifications are posted with: bounded waits, no redirects (a receiver's URL is where it is).</summary>
    private static HttpClient NotificationHttp() => new(new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(5) })
    {
        Timeout = TimeSpan.FromSeconds(10),
        DefaultRequestHeaders = { { "User-Agent", "hawser-controller" } },
    };

    private static FleetSync FleetSyncFor(IServiceProvider sp, ControllerStore store)
    {
        var renewer = sp.GetRequiredService<CertificateRenewer>();
        var rollouts = sp.GetRequiredService<RolloutEngine>();
        var feed = sp.GetRequiredService<WebLiveFeed>();
        return new FleetSync(store, sp.GetRequiredService<AgentSessions>(), sp.GetRequiredService<CertificateMaterials>(),
            sp.GetRequiredService<SecretBox>(), async cancellationToken => (await renewer.CurrentPlanAsync(cancellationToken))?.Acme, sp.GetRequiredService<ILogger>())
        {
            DesiredChanged = renewer.Wake,
            // The web UI's live view shows what another controller changed as well as this one's own changes.
            RolloutsChanged = async cancellationToken =>
            {
                rollouts.Wake();
                if (await store.Rollouts.ListAsync(1, cancellationToken) is [var latest])
                {
                    feed.Rollout(latest);
                }
            },
            NodesChanged = () => feed.Nodes(""),
        };
    }

    /// <summary>Registers a loop the host starts, supervises and stops (not de-duplicated by type, unlike AddHostedService).</summary>
    private static void AddJob(this IServiceCollection services, string name, Func<IServiceProvider, Func<CancellationToken, Task>> job) =>
        services.AddSingleton<IHostedService>(sp => new SupervisedJob(name, job(sp), sp.GetRequiredService<BackgroundJobs>(), sp.GetRequiredService<JobsGate>(), sp.GetRequiredService<ILogger>()));

    /// <summary>The health service's view of the loops: unhealthy, naming each, while any is down.</summary>
    private sealed class JobsHealthCheck(BackgroundJobs jobs) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(jobs.Problems.Count == 0 ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy(string.Join("; ", jobs.Problems.Select(p => $"{p.Key}: {p.Value}"))));
    }
}
