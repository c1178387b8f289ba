using System.Net;
using Hawser.Shared.ServiceHosting;

namespace Hawser.Controller.Hosting;

/// <summary>What <c>hawser-controller run</c> was told, checked: the one input the host is built from.</summary>
public sealed record ControllerOptions
{
    /// <summary>Where gRPC, the web UI and /metrics are served (TLS).</summary>
    public required IPEndPoint Listen { get; init; }

    /// <summary>The data directory made by <c>init</c>: pki/, tokens, the SQLite store unless another is named.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The DNS server the certificate preflight and DNS-01 ask.</summary>
    public required IPEndPoint AcmeResolver { get; init; }

    /// <summary>PEM roots trusted for the ACME directory besides the system's.</summary>
    public string? AcmeCaFile { get; init; }

    /// <summary>How often certificates are checked for renewal.</summary>
    public TimeSpan CertificateCheck { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The first wait after a failed certificate order.</summary>
    public TimeSpan CertificateRetry { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long the event log keeps an event.</summary>
    public TimeSpan EventRetention { get; init; } = TimeSpan.FromDays(90);

    /// <summary>With a shared store: how often the change counters are compared.</summary>
    public TimeSpan StorePoll { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>With a shared store: whether PostgreSQL notifications wake this controller at once.</summary>
    public bool StoreNotify { get; init; } = true;

    /// <summary>With a shared store: how long a lease lasts unless renewed.</summary>
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Calls per second one address may make without a client certificate.</summary>
    public double AnonymousRate { get; init; } = Api.CallerIdentity.DefaultAnonymousCallsPerSecond;

    /// <summary>Whether the web UI's admin token (DATA/ui-token) may log in: the break-glass login, off unless enabled.</summary>
    public bool WebBreakGlass { get; init; }

    /// <summary>Single sign-on to the web UI (<c>--sso FILE</c>), or null.</summary>
    public Web.SsoSettings? Sso { get; init; }

    /// <summary>Where traces go (an OTLP/HTTP collector's base URL, e.g. http://collector:4318/), or null: tracing off.</summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>Notification receivers and routes (<c>--notifications FILE</c>), or null: notifications off.</summary>
    public Notifications.NotificationSettings? Notifications { get; init; }

    /// <summary>The key agent releases must be signed with (<c>--release-key</c>, else the one built in), or null: every release refused.</summary>
    public Shared.Releases.ReleaseKey? ReleaseKey { get; init; }

    /// <summary>Bytes that may wait to be written to one agent's stream.</summary>
    public long NodeSendQueueBytes { get; init; } = new Sessions.NodeRateOptions().SendQueueBytes;

    /// <summary>How long a stop waits for calls, streams and jobs to end before it gives up on them (and says which).</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How log lines are written.</summary>
    public LogFormat LogFormat { get; init; } = LogFormat.Auto;
}
