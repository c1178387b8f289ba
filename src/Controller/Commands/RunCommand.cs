using System.CommandLine;
using System.Net;
using Hawser.Controller.Acme;
using Hawser.Controller.Api;
using Hawser.Controller.Hosting;
using Hawser.Controller.Pki;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store;
using Hawser.Controller.Web;
using Hawser.Shared.Cli;
using Hawser.Shared.ServiceHosting;
using Microsoft.Extensions.DependencyInjection;

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

    private readonly Option<bool> _webBreakGlass = new("--web-break-glass")
    {
        Description = "Let the web UI's admin token (DATA/ui-token, 0600) log in as an admin: a break-glass login for when no operator's " +
            "certificate is at hand. Off unless given; every login with it is a web.break-glass event.",
    };

    private readonly Option<string> _sso = new("--sso")
    {
        HelpName = "FILE",
        Description = "Single sign-on to the web UI through an OpenID Connect provider: a YAML file naming the provider (authority), this " +
            "controller's client (clientId, clientSecretFile) and which of its groups grant which role and scope (groups). See the README's Operators and roles.",
    };

    private readonly Option<string> _notifications = new("--notifications")
    {
        HelpName = "FILE",
        Description = "Send notifications of events (a node failed or offline, an order failed, a rollout paused...): a YAML file naming " +
            "receivers (a signed webhook, Slack/Mattermost, ntfy) and routes (which kinds, nodes, labels and severity go where). " +
            "Give every controller sharing a store the same file. See the README's Alerts and notifications.",
    };

    private readonly Option<string> _releaseKey = new("--release-key")
    {
        HelpName = "FILE|BASE64",
        Description = "The Ed25519 public key that signs agent releases (`hawserctl agent publish` is refused unless its signature verifies " +
            "with it): a PEM file (openssl pkey -pubout), or the key's 32 bytes in base64. Default: the key built into this controller by " +
            "build-release.sh --sign-key; a build without one refuses every release until this is given.",
    };

    private readonly Option<string> _otlpEndpoint = new("--otlp-endpoint")
    {
        HelpName = "URL",
        Description = "Export traces with OpenTelemetry (OTLP over HTTP, protobuf) to the collector at URL (e.g. http://collector:4318/; " +
            "spans go to URL/v1/traces): an apply's validate, store and push, and each agent's converge with its resources, in one trace " +
            "(hawserctl apply --trace starts it and prints its id). Off unless given.",
    };

    private readonly Option<int> _nodeSendQueue = new("--node-send-queue")
    {
        HelpName = "KIB",
        Description = "KiB that may wait to be written to one agent's stream. An agent that stops taking what is sent (a frozen host) " +
            "fills only its own queue; past this its stream is closed, the event log says so, and it gets its desired state when it " +
            "reconnects. Default 8192 (8 MiB).",
        DefaultValueFactory = _ => (int)(new NodeRateOptions().SendQueueBytes / 1024),
    };

    private readonly Option<TimeSpan> _shutdownTimeout = Durations.Option("--shutdown-timeout",
        "On SIGTERM: how long calls in flight and the controller's loops get to end before it exits without them (each named in the log); " +
        "agent streams are closed at once so agents move to another controller. Keep it below the service manager's stop timeout; default 10s",
        TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1));

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
        Options.Add(_webBreakGlass);
        Options.Add(_sso);
        Options.Add(_notifications);
        Options.Add(_releaseKey);
        Options.Add(_otlpEndpoint);
        Options.Add(_nodeSendQueue);
        Options.Add(_shutdownTimeout);
        Options.Add(_logFormat);
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawser-controller run --listen 0.0.0.0:7443", "hawser-controller run --acme-ca-file /etc/ssl/private-ca.pem --certificate-check-interval 30m",
            "hawser-controller run --store /etc/hawser/store.conf   # a 0600 file: postgres://hawser:PASSWORD@db.example/hawser");
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        if (await ReadOptionsAsync(parse) is not { } options)
        {
            return ExitCodes.Usage;
        }
        var data = options.DataDirectory;
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
        {
            Console.WriteLine($"store     {store.DatabasePath} (schema v{store.SchemaVersion})");
            Console.WriteLine($"ca-hash   {pki.Ca.Hash}");
            await using var host = ControllerHost.Build(options, store, pki);
            if (store.Engine.IsShared)
            {
                Console.WriteLine($"shared    as {host.Services.GetRequiredService<AgentSessions>().ControllerId}; other controllers' changes by " +
                    $"{(options.StoreNotify ? "notification, and " : "")}polling every {options.StorePoll.TotalSeconds:0.###} s");
            }
            using var systemd = new SystemdNotifier();
            try
            {
                await host.StartAsync(addresses =>
                {
                    Console.WriteLine($"listening {string.Join(", ", addresses)} (gRPC over TLS, client certificates)");
                    var logins = host.Services.GetRequiredService<WebSignIn>();
                    Console.WriteLine($"web UI    {addresses[0]} (log in with an operator's client certificate" +
                        (logins.BreakGlass ? $", or the break-glass admin token in {logins.TokenPath})" : "; the admin token login is off: --web-break-glass)"));
                    Console.WriteLine("ready");
                    systemd.Ready($"serving on {string.Join(", ", addresses)}");
                }, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
            {
                await Console.Error.WriteLineAsync($"error: cannot listen on {parse.GetValue(_listen)}: {ex.Message}" +
                    (ex.InnerException is { } inner && inner.Message != ex.Message ? $" ({inner.Message})" : ""));
                return ExitCodes.ListenFailed;
            }
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("stopping");
                systemd.Stopping();
            }
        }
        return ExitCodes.Ok;
    }

    /// <summary>The options, checked; null (said on stderr) when one is malformed.</summary>
    private async Task<ControllerOptions?> ReadOptionsAsync(ParseResult parse)
    {
        var listen = parse.GetValue(_listen)!;
        if (!IPEndPoint.TryParse(listen, out var endPoint) || endPoint.Port == 0 && !listen.EndsWith(":0", StringComparison.Ordinal))
        {
            await Console.Error.WriteLineAsync($"error: --listen '{listen}' is not ADDRESS:PORT (e.g. 127.0.0.1:7443 or [::1]:7443)");
            return null;
        }
        if (parse.GetValue(_anonymousRate) is var rate && !(rate >= 1 && rate <= 100_000))
        {
            await Console.Error.WriteLineAsync($"error: --anonymous-rate {rate}: give calls per second from 1 to 100000");
            return null;
        }
        if (!TryLoad("--sso", parse.GetValue(_sso), Web.SsoSettings.Load, out var sso)
            || !TryLoad("--notifications", parse.GetValue(_notifications), Notifications.NotificationSettings.Load, out var notifications))
        {
            return null;
        }
        var releaseKey = Shared.Releases.ReleaseKey.BuiltIn;
        if (parse.GetValue(_releaseKey) is { } keyText)
        {
            try
            {
                releaseKey = Shared.Releases.ReleaseKey.Parse(File.Exists(keyText) ? await File.ReadAllTextAsync(keyText) : keyText);
            }
            catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"error: --release-key {keyText}: {ex.Message}");
                return null;
            }
        }
        Uri? otlp = null;
        if (parse.GetValue(_otlpEndpoint) is { } endpoint
            && (!Uri.TryCreate(endpoint, UriKind.Absolute, out otlp) || (otlp.Scheme != Uri.UriSchemeHttp && otlp.Scheme != Uri.UriSchemeHttps)))
        {
            await Console.Error.WriteLineAsync($"error: --otlp-endpoint '{endpoint}' must be an http:// or https:// URL (e.g. http://collector:4318/)");
            return null;
        }
        if (parse.GetValue(_nodeSendQueue) is var queue && queue is < 64 or > 1024 * 1024)
        {
            await Console.Error.WriteLineAsync($"error: --node-send-queue {queue}: give KiB from 64 to 1048576 (1 GiB)");
            return null;
        }
        if (parse.GetValue(_acmeCaFile) is { } caFile && AcmeHttp.ReadRoots(caFile) is { } rootsProblem)
        {
            await Console.Error.WriteLineAsync($"error: --acme-ca-file {caFile}: {rootsProblem}");
            return null;
        }
        IPEndPoint resolver;
        try
        {
            resolver = parse.GetValue(_acmeResolver) is { } server ? DnsLookup.ParseServer(server) : DnsLookup.SystemServer();
        }
        catch (FormatException ex)
        {
            await Console.Error.WriteLineAsync($"error: --acme-resolver: {ex.Message}");
            return null;
        }
        return new ControllerOptions
        {
            Listen = endPoint,
            DataDirectory = Path.GetFullPath(parse.GetValue(_data)!),
            AcmeResolver = resolver,
            AcmeCaFile = parse.GetValue(_acmeCaFile),
            CertificateCheck = parse.GetValue(_certificateCheck),
            CertificateRetry = parse.GetValue(_certificateRetry),
            EventRetention = parse.GetValue(_eventRetention),
            StorePoll = parse.GetValue(_storePoll),
            StoreNotify = parse.GetValue(_storeNotify),
            LeaseTtl = parse.GetValue(_leaseTtl),
            AnonymousRate = rate,
            WebBreakGlass = parse.GetValue(_webBreakGlass),
            Sso = sso,
            Notifications = notifications,
            ReleaseKey = releaseKey,
            // A base URL: v1/traces goes beneath it, also when it was written without the final slash.
            OtlpEndpoint = otlp is null || otlp.AbsolutePath.EndsWith('/') ? otlp : new Uri(otlp + "/"),
            NodeSendQueueBytes = queue * 1024L,
            ShutdownTimeout = parse.GetValue(_shutdownTimeout),
            LogFormat = parse.GetValue(_logFormat),
        };
    }

    /// <summary>Reads a settings file an option names (none: null); false, said on stderr with the file and line, when it is wrong.</summary>
    private static bool TryLoad<T>(string option, string? file, Func<string, T> load, out T? settings) where T : class
    {
        settings = null;
        if (file is null)
        {
            return true;
        }
        try
        {
            settings = load(file);
            return true;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            // A settings error names the file and line already; one the file cannot be read names the file.
            Console.Error.WriteLine(ex is InvalidDataException ? $"error: {option}: {ex.Message}" : $"error: {option} {file}: {ex.Message}");
            return false;
        }
    }
}
