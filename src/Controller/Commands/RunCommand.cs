using Hawser.Shared.Cli;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using System.Text.Json;
using System.CommandLine;
using System.Net;
using Hawser.Controller.Acme;
using Hawser.Controller.Rollouts;
using Hawser.Controller.Web;
using Hawser.Controller.Api;
using Hawser.Controller.Pki;
using Hawser.Controller.Sessions;
using Hawser.Controller.Hosting;
using Hawser.Controller.Store;
using Hawser.Shared.ServiceHosting;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Commands;

/// <summary><c>hawser-controller run</c>: open the store and serve agents and hawserctl until stopped.</summary>
internal sealed class RunCommand : Command
{
    /// <summary>The address served when --listen is not given.</summary>
    public const string DefaultListen = "127.0.0.1:7443";

    /// <summary>The data directory used when --data is not given.</summary>
    public const string DefaultData = "/var/lib/hawser-controller";

    private readonly Option<string> _listen = new("--listen")
    {
        HelpName = "ADDR:PORT",
        Description = "Address and port to serve gRPC (agents and hawserctl, TLS) on, e.g. 0.0.0.0:7443 or [::]:7443.",
        DefaultValueFactory = _ => DefaultListen,
    };

    private readonly Option<string> _data = new("--data")
    {
        HelpName = "DIR",
        Description = "Data directory made by `hawser-controller init`: pki/, and the store (controller.db) unless --store says otherwise.",
        DefaultValueFactory = _ => DefaultData,
    };

    private readonly Option<string> _store = StoreOption.Create();

    private readonly Option<TimeSpan> _nodeCertificateLifetime = Durations.Option("--node-certificate-lifetime",
        "How long node certificates are valid (agents renew at two thirds); default 30d", TimeSpan.FromDays(30));

    private readonly Option<string> _acmeCaFile = new("--acme-ca-file")
    {
        HelpName = "FILE",
        Description = "PEM root(s) to trust for the ACME directory's HTTPS besides the system's (a private CA such as Pebble or step-ca).",
    };

    private readonly Option<TimeSpan> _certificateCheck = Durations.Option("--certificate-check-interval",
        "How often certificates are checked for renewal (also after every apply); default 1h", TimeSpan.FromHours(1));

    private readonly Option<string> _acmeResolver = new("--acme-resolver")
    {
        HelpName = "ADDRESS[:PORT]",
        Description = "DNS server the certificate preflight asks for each name's A and AAAA records (default: the first nameserver in /etc/resolv.conf).",
    };

    private readonly Option<TimeSpan> _certificateRetry = Durations.Option("--certificate-retry",
        "First wait after a failed certificate order (CA down, rate limit); it doubles up to an hour, or follows the CA's Retry-After; default 1m",
        TimeSpan.FromMinutes(1));

    private readonly Option<TimeSpan> _eventRetention = Durations.Option("--event-retention",
        "How long the event log keeps an event (older ones are pruned in small batches, hourly at most); default 90d", TimeSpan.FromDays(90), TimeSpan.FromSeconds(1));

    private readonly Option<TimeSpan> _storePoll = Durations.Option("--store-poll-interval",
        "With a shared store: how often the store's change counters are compared, the fallback when a notification is missed; default 2s",
        TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(100));

    private readonly Option<bool> _storeNotify = new("--store-notify")
    {
        HelpName = "true|false",
        Description = "With a shared store: wake at once on other controllers' changes (PostgreSQL LISTEN/NOTIFY). " +
            "false for a pooler in transaction mode, which cannot LISTEN: changes then arrive by polling only. Default true.",
        DefaultValueFactory = _ => true,
    };

    private readonly Option<TimeSpan> _leaseTtl = Durations.Option("--lease-ttl",
        "With a shared store: how long a lease (a rollout, a certificate order, this controller's liveness) lasts unless renewed; " +
        "renewed every third of it. Another controller takes over a job this long after its holder died; default 15s",
        TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(1));

    private readonly Option<double> _anonymousRate = new("--anonymous-rate")
    {
        HelpName = "CALLS",
        Description = "Calls per second one address may make without a client certificate (enrollment, the CA), with a burst of five seconds' worth; " +
            "beyond, calls are refused with RESOURCE_EXHAUSTED. Raise it to enroll thousands of hosts from one address at once. Default 20.",
        DefaultValueFactory = _ => CallerIdentity.DefaultAnonymousCallsPerSecond,
    };

    private readonly Option<int> _nodeSendQueue = new("--node-send-queue")
    {
        HelpName = "KIB",
        Description = "KiB that may wait to be written to one agent's stream. An agent that stops taking what is sent (a frozen host) " +
            "fills only its own queue; past this its stream is closed, the event log says so, and it gets its desired state when it " +
            "reconnects. Default 8192 (8 MiB).",
        DefaultValueFactory = _ => (int)(new NodeRateOptions().SendQueueBytes / 1024),
    };

    private readonly Option<LogFormat> _logFormat = ServiceLogging.Option();

    public RunCommand() : base("run", "Serve the control API and the agent stream until SIGINT or SIGTERM.")
    {
        Options.Add(_listen);
        Options.Add(_data);
        Options.Add(_store);
        Options.Add(_nodeCertificateLifetime);
        Options.Add(_acmeCaFile);
        Options.Add(_certificateCheck);
        Options.Add(_acmeResolver);
        Options.Add(_certificateRetry);
        Options.Add(_eventRetention);
        Options.Add(_storePoll);
        Options.Add(_storeNotify);
        Options.Add(_leaseTtl);
        Options.Add(_anonymousRate);
        Options.Add(_nodeSendQueue);
        Options.Add(_logFormat);
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawser-controller run --listen 0.0.0.0:7443", "hawser-controller run --acme-ca-file /etc/ssl/private-ca.pem --certificate-check-interval 30m",
            "hawser-controller run --store /etc/hawser/store.conf   # a 0600 file: postgres://hawser:PASSWORD@db.example/hawser");
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var listen = parse.GetValue(_listen)!;
        if (!IPEndPoint.TryParse(listen, out var endPoint) || endPoint.Port == 0 && !listen.EndsWith(":0", StringComparison.Ordinal))
        {
            await Console.Error.WriteLineAsync($"error: --listen '{listen}' is not ADDRESS:PORT (e.g. 127.0.0.1:7443 or [::1]:7443)");
            return ExitCodes.Usage;
        }
        if (parse.GetValue(_anonymousRate) is var rate && !(rate >= 1 && rate <= 100_000))
        {
            await Console.Error.WriteLineAsync($"error: --anonymous-rate {rate}: give calls per second from 1 to 100000");
            return ExitCodes.Usage;
        }
        if (parse.GetValue(_nodeSendQueue) is var queue && queue is < 64 or > 1024 * 1024)
        {
            await Console.Error.WriteLineAsync($"error: --node-send-queue {queue}: give KiB from 64 to 1048576 (1 GiB)");
            return ExitCodes.Usage;
        }
        if (parse.GetValue(_acmeCaFile) is { } caFile && AcmeHttp.ReadRoots(caFile) is { } rootsProblem)
        {
            await Console.Error.WriteLineAsync($"error: --acme-ca-file {caFile}: {rootsProblem}");
            return ExitCodes.Usage;
        }
        DnsLookup resolver;
        try
        {
            resolver = new DnsLookup(parse.GetValue(_acmeResolver) is { } server ? DnsLookup.ParseServer(server) : DnsLookup.SystemServer());
        }
        catch (FormatException ex)
        {
            await Console.Error.WriteLineAsync($"error: --acme-resolver: {ex.Message}");
            return ExitCodes.Usage;
        }
        var data = Path.GetFullPath(parse.GetValue(_data)!);
        if (DataDirectory.Unreadable(data) is { } why)
        {
            await Console.Error.WriteLineAsync($"error: {why}");
            return ExitCodes.StoreUnavailable;
        }
        if (!ControllerPki.Exists(data))
        {
            await Console.Error.WriteLineAsync($"error: {data} is not initialized; run `hawser-controller init --data {data}` first");
            return ExitCodes.NotInitialized;
        }

        if (StoreOption.Read(parse, _store, data) is not { } location)
        {
            return ExitCodes.Usage;
        }
        if (StoreOption.Open(location, initialized: true) is not { } store)
        {
            return ExitCodes.StoreUnavailable;
        }
        using (store)
        using (var pki = ControllerPki.Load(data, parse.GetValue(_nodeCertificateLifetime)))
        using (var loggers = LoggerFactory.Create(builder => builder.AddServiceConsole(parse.GetValue(_logFormat), LogLevel.Information)))
        {
            Console.WriteLine($"store     {store.DatabasePath} (schema v{store.SchemaVersion})");
            Console.WriteLine($"ca-hash   {pki.Ca.Hash}");
            var logger = loggers.CreateLogger("hawser-controller");
            var jobs = new BackgroundJobs(logger);
            var refusals = new RefusalLog(store, logger);
            var callers = new CallerIdentity(store, refusals, parse.GetValue(_anonymousRate));
            var box = SecretBox.Open(data);
            var materials = CertificateMaterials.Load(store, box);
            using var desired = new DesiredStates(store, materials);
            var sessions = new AgentSessions(store, desired, logger,
                new NodeRateLimits(new NodeRateOptions { SendQueueBytes = parse.GetValue(_nodeSendQueue) * 1024L }));
            if (store.Engine.IsShared)
            {
                // The store's calls are synchronous; on PostgreSQL each waits on the network and at times on a row lock.
                // Without spare threads, request threads blocked that way starve the pool, and a transaction whose next
                // statement waits for a thread holds its row locks for seconds (measured: an apply held up to 30 s).
                ThreadPool.GetMinThreads(out var workers, out var completion);
                ThreadPool.SetMinThreads(Math.Max(workers, 256), completion);
                Console.WriteLine($"shared    as {sessions.ControllerId}; other controllers' changes by {(parse.GetValue(_storeNotify) ? "notification, and " : "")}polling every {parse.GetValue(_storePoll).TotalSeconds:0.###} s");
            }
            using var acmeHttp = AcmeHttp.Create(parse.GetValue(_acmeCaFile));
            using var preflight = new CertificatePreflight(sessions, resolver, TimeSpan.FromSeconds(10));
            using var issuer = new CertificateIssuer(store, box, materials, sessions, acmeHttp, new CertificateIssuerOptions
            {
                Preflight = preflight,
                Solvers = [new Acme.Dns01.Dns01Solver(resolver)],
            });
            using var renewer = new CertificateRenewer(store, desired, issuer, logger, parse.GetValue(_certificateCheck), parse.GetValue(_certificateRetry))
            {
                Holder = sessions.ControllerId,
                LeaseTtl = parse.GetValue(_leaseTtl),
            };
            using var rollouts = new RolloutEngine(store, desired, sessions, logger) { LeaseTtl = parse.GetValue(_leaseTtl) };
            var logins = new WebSessions(Path.Combine(data, "ui-token"), store);
            logins.EnsureToken();
            var events = new WebEvents();
            void PublishRollout(Shared.Protocol.V1.Rollout rollout) => events.Publish("rollout", JsonSerializer.Serialize(WebApi.ToWeb(rollout), WebJsonContext.Default.WebRollout));
            void PublishNodes(string node) => events.Publish("nodes", JsonSerializer.Serialize(node, WebJsonContext.Default.String));
            rollouts.Changed += PublishRollout;
            sessions.Reported = node =>
            {
                rollouts.WakeForReport();
                PublishNodes(node);
            };
            var web = new WebApi(store, sessions, rollouts, renewer, logins, events);
            var control = new ControlApi(store, pki, sessions, desired, new CertificatesApi(store, renewer), new RolloutsApi(store, rollouts), renewer.Wake, rollouts, logger);
            var enrollment = new EnrollmentApi(store, pki, logger, refusals);
            using var metrics = new ControllerMetrics(store, sessions);
            var scrapeToken = new TokenFile(Path.Combine(data, MetricsEndpoint.TokenFileName));
            scrapeToken.Ensure();
            GrpcHost host;
            try
            {
                host = await GrpcHost.StartAsync([new GrpcListenOptions
                    {
                        EndPoint = endPoint,
                        Certificate = pki.ServerCertificate,
                        // Anonymous callers may enroll; every other method needs the identity MethodAuthorization names.
                        ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.AllowCertificate,
                        ClientCertificateValidation = (certificate, _, _) => pki.ValidateClient(certificate),
                    }],
                    services =>
                    {
                        services.AddSingleton(control).AddSingleton(enrollment).AddSingleton(sessions)
                            .AddSingleton(new FailureInterceptor(logger)).AddSingleton(new AuthorizationInterceptor(callers)).AddSingleton(new MetricsInterceptor(metrics));
                        MetricsEndpoint.AddServices(services);
                        // A node's messages are bounded tighter than the operator's: what one node sends never nears the 4 MiB limit.
                        services.AddGrpc().AddServiceOptions<AgentSessions>(options => options.MaxReceiveMessageSize = NodeInputBounds.MaxAgentMessageBytes);
                        services.Configure<GrpcServiceOptions>(options =>
                        {
                            options.Interceptors.Add<MetricsInterceptor>();
                            options.Interceptors.Add<FailureInterceptor>();
                            options.Interceptors.Add<AuthorizationInterceptor>();
                        });
                        // Evaluated on each Check call, not from a cache refreshed every 30 s.
                        services.AddGrpcHealthChecks(options => options.UseHealthChecksCache = false)
                            .AddCheck("background-jobs", () => jobs.Problems.Count == 0 ? HealthCheckResult.Healthy()
                                : HealthCheckResult.Unhealthy(string.Join("; ", jobs.Problems.Select(p => $"{p.Key}: {p.Value}"))));
                    },
                    app =>
                    {
                        app.MapGrpcService<ControlApi>();
                        app.MapGrpcService<EnrollmentApi>();
                        app.MapGrpcService<AgentSessions>();
                        app.MapGrpcHealthChecksService();
                        MetricsEndpoint.Map(app, scrapeToken);
                        web.MapTo(app);
                    },
                    logging => logging.AddServiceConsole(parse.GetValue(_logFormat), LogLevel.Warning),
                    cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
            {
                await Console.Error.WriteLineAsync($"error: cannot listen on {listen}: {ex.Message}" +
                    (ex.InnerException is { } inner && inner.Message != ex.Message ? $" ({inner.Message})" : ""));
                return ExitCodes.ListenFailed;
            }
            await using (host)
            {
                Console.WriteLine($"listening {string.Join(", ", host.Addresses)} (gRPC over TLS, client certificates)");
                Console.WriteLine($"web UI    {host.Addresses[0]} (log in with the token in {logins.TokenPath}, or the admin client certificate)");
                Console.WriteLine("ready");
                using var systemd = new SystemdNotifier();
                systemd.Ready($"serving on {string.Join(", ", host.Addresses)}");
                var renewing = jobs.RunAsync("certificate renewer", renewer.RunAsync, cancellationToken);
                var rolling = jobs.RunAsync("rollout engine", rollouts.RunAsync, cancellationToken);
                var pruning = jobs.RunAsync("event pruner", new EventPruner(store, parse.GetValue(_eventRetention), logger).RunAsync, cancellationToken);
                var refusing = jobs.RunAsync("refusal counts", async ct =>
                {
                    using var timer = new PeriodicTimer(refusals.Window);
                    while (await timer.WaitForNextTickAsync(ct))
                    {
                        refusals.Flush();
                    }
                }, cancellationToken);
                using var sync = new FleetSync(store, sessions, materials, box, () => renewer.CurrentPlan()?.Acme, logger)
                {
                    DesiredChanged = renewer.Wake,
                    // The web UI's live view shows what another controller changed as well as this one's own changes.
                    RolloutsChanged = () =>
                    {
                        rollouts.Wake();
                        if (store.ListRollouts(1) is [var latest])
                        {
                            PublishRollout(latest);
                        }
                    },
                    NodesChanged = () => PublishNodes(""),
                };
                var watcher = new StoreWatcher(store, parse.GetValue(_storePoll), parse.GetValue(_storeNotify), logger);
                watcher.Changed += sync.OnChanged;
                var living = store.Engine.IsShared
                    ? jobs.RunAsync("controller lease", ct => LeaseKeeping.KeepAsync(store, ControllerStore.ControllerLeasePrefix + sessions.ControllerId, sessions.ControllerId, parse.GetValue(_leaseTtl), logger, ct), cancellationToken)
                    : Task.CompletedTask;
                var syncing = store.Engine.IsShared ? jobs.RunAsync("store sync", sync.RunAsync, cancellationToken) : Task.CompletedTask;
                var watching = store.Engine.IsShared ? jobs.RunAsync("store watcher", watcher.RunAsync, cancellationToken) : Task.CompletedTask;
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine("stopping");
                    systemd.Stopping();
                    sessions.CloseAll();
                }
                await renewing;
                await rolling;
                await pruning;
                await refusing;
                refusals.Flush(all: true);
                await syncing;
                await living;
                await watching;
            }
        }
        return ExitCodes.Ok;
    }
}
