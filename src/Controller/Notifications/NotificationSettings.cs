using Hawser.Shared.Cli;
using Hawser.Shared.Configuration;

namespace Hawser.Controller.Notifications;

/// <summary>The message format a receiver accepts.</summary>
public enum ReceiverFormat
{
    /// <summary>Hawser's own JSON body, signed with the receiver's secret (<c>X-Hawser-Signature</c>).</summary>
    Webhook,

    /// <summary>Slack's and Mattermost's incoming webhooks: <c>{"text": "..."}</c>.</summary>
    Slack,

    /// <summary>An ntfy topic URL: the message as the body, title, priority and tags as headers.</summary>
    Ntfy,
}

/// <summary>How serious an event is; a route sends events at or above its minimum.</summary>
public enum EventSeverity
{
    /// <summary>Something happened as asked.</summary>
    Info,

    /// <summary>Needs a look soon: drift, an expiring served certificate, a paused rollout, a node offline.</summary>
    Warning,

    /// <summary>Needs a person now: a failed converge or order, a certificate not served, an aborted rollout.</summary>
    Error,
}

/// <summary>Where notifications go: a name, a format and a URL (and the secret a webhook's body is signed with).</summary>
public sealed record ReceiverSettings(string Name, ReceiverFormat Format, Uri Url, byte[]? Secret);

/// <summary>
/// Which events go to which receivers: kinds (<c>node.failed</c>, an area <c>node</c>, or <c>rollout.state=paused</c>),
/// optionally only some nodes or nodes with labels, at or above a severity, and optionally only once a kind has happened
/// <see cref="AtLeast"/> times on a node within <see cref="Within"/> (drift that keeps coming back).
/// </summary>
public sealed record RouteSettings
{
    /// <summary>The route's name in the settings file.</summary>
    public required string Name { get; init; }

    /// <summary>The receivers it sends to.</summary>
    public required IReadOnlyList<string> To { get; init; }

    /// <summary>Event kinds, areas or <c>kind=state</c>; empty: every kind except the notifier's own.</summary>
    public IReadOnlyList<string> Kinds { get; init; } = [];

    /// <summary>Only these nodes; empty: any (and events about no node).</summary>
    public IReadOnlyList<string> Nodes { get; init; } = [];

    /// <summary>Only nodes with all these labels; empty: any.</summary>
    public IReadOnlyDictionary<string, string> Selector { get; init; } = new Dictionary<string, string>();

    /// <summary>The least severity sent.</summary>
    public EventSeverity Severity { get; init; } = EventSeverity.Info;

    /// <summary>Send only when the kind happened this often on the node within <see cref="Within"/> (1: every time).</summary>
    public int AtLeast { get; init; } = 1;

    /// <summary>The window <see cref="AtLeast"/> counts in.</summary>
    public TimeSpan Within { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>
/// The controller's notification settings (<c>hawser-controller run --notifications FILE</c>): receivers, routes, and how
/// delivery behaves. A file rather than the store: receivers' secrets are files on the controller's host anyway, the file
/// is reviewed and versioned with the rest of the host's configuration, and a mistake stops the controller at start with
/// the file and line instead of silently dropping alerts. Several controllers must be given the same file.
/// </summary>
public sealed record NotificationSettings
{
    /// <summary>Receivers by name.</summary>
    public required IReadOnlyDictionary<string, ReceiverSettings> Receivers { get; init; }

    /// <summary>Routes, in the file's order.</summary>
    public required IReadOnlyList<RouteSettings> Routes { get; init; }

    /// <summary>Repeats of one kind on one node within this window go out as one message when it ends.</summary>
    public TimeSpan GroupWindow { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a notification is retried (with back-off) before it is marked undeliverable.</summary>
    public TimeSpan RetryFor { get; init; } = TimeSpan.FromHours(24);

    /// <summary>The first wait after a failed delivery; doubled each time up to <see cref="MaxRetryWait"/>.</summary>
    public TimeSpan FirstRetry { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between two attempts.</summary>
    public TimeSpan MaxRetryWait { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>A node not connected for this long is <c>node.offline</c> (an event, routed like any other).</summary>
    public TimeSpan OfflineAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Reads <paramref name="path"/>; every error names the file and line (<see cref="InvalidDataException"/>).</summary>
    public static NotificationSettings Load(string path)
    {
        var file = YamlSettingsFile.Load(path);
        var root = file.Root;
        root.AllowOnly("receivers", "routes", "groupWindow", "retryFor", "firstRetry", "maxRetryWait", "offlineAfter");
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var receivers = new Dictionary<string, ReceiverSettings>(StringComparer.Ordinal);
        foreach (var (name, map) in root.Maps("receivers") ?? [])
        {
            if (Receiver(name, map, directory) is { } receiver)
            {
                receivers[name] = receiver;
            }
        }
        if (receivers.Count == 0)
        {
            root.Invalid("receivers", "receivers is required: e.g. receivers: {oncall: {webhook: https://hooks.example.org/hawser, secretFile: oncall.secret}}");
        }
        var routes = new List<RouteSettings>();
        foreach (var (name, map) in root.Maps("routes") ?? [])
        {
            if (Route(name, map, receivers) is { } route)
            {
                routes.Add(route);
            }
        }
        if (routes.Count == 0)
        {
            root.Invalid("routes", "routes is required: e.g. routes: {failures: {to: [oncall], kinds: [node.failed, certificate.order-failed]}}");
        }
        var settings = new NotificationSettings
        {
            Receivers = receivers, Routes = routes,
            GroupWindow = Duration(root, "groupWindow") ?? TimeSpan.FromMinutes(5),
            RetryFor = Duration(root, "retryFor") ?? TimeSpan.FromHours(24),
            FirstRetry = Duration(root, "firstRetry") ?? TimeSpan.FromSeconds(5),
            MaxRetryWait = Duration(root, "maxRetryWait") ?? TimeSpan.FromMinutes(10),
            OfflineAfter = Duration(root, "offlineAfter") ?? TimeSpan.FromMinutes(5),
        };
        file.ThrowIfInvalid();
        return settings;
    }

    private static ReceiverSettings? Receiver(string name, YamlSettingsMap map, string directory)
    {
        map.AllowOnly("webhook", "slack", "ntfy", "secretFile");
        var given = new[] { ("webhook", ReceiverFormat.Webhook), ("slack", ReceiverFormat.Slack), ("ntfy", ReceiverFormat.Ntfy) }
            .Where(f => map.Text(f.Item1) is not null).ToList();
        if (given.Count != 1)
        {
            map.Invalid(given.Count == 0 ? "webhook" : given[1].Item1,
                $"receivers.{name}: give exactly one of webhook, slack (also Mattermost) or ntfy, with the URL to post to");
            return null;
        }
        var (key, format) = given[0];
        var text = map.Text(key)!;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            map.Invalid(key, $"receivers.{name}.{key} '{text}' must be an http:// or https:// URL");
            return null;
        }
        byte[]? secret = null;
        if (map.Text("secretFile") is { } secretFile)
        {
            if (format != ReceiverFormat.Webhook)
            {
                map.Invalid("secretFile", $"receivers.{name}.secretFile: only a webhook's body is signed ({key} receivers cannot check a signature)");
            }
            try
            {
                var bytes = File.ReadAllText(Path.GetFullPath(secretFile, directory)).Trim();
                if (bytes.Length < 16)
                {
                    map.Invalid("secretFile", $"receivers.{name}.secretFile {secretFile} holds {bytes.Length} characters; use at least 16 (e.g. openssl rand -hex 32)");
                }
                secret = System.Text.Encoding.UTF8.GetBytes(bytes);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                map.Invalid("secretFile", $"receivers.{name}.secretFile {secretFile} cannot be read: {ex.Message}");
            }
        }
        else if (format == ReceiverFormat.Webhook)
        {
            map.Invalid(key, $"receivers.{name}: a webhook needs secretFile, a file holding the secret its body is signed with (e.g. openssl rand -hex 32 > {name}.secret)");
        }
        return new ReceiverSettings(name, format, url, secret);
    }

    private static RouteSettings? Route(string name, YamlSettingsMap map, IReadOnlyDictionary<string, ReceiverSettings> receivers)
    {
        map.AllowOnly("to", "kinds", "nodes", "selector", "severity", "atLeast", "within");
        var to = map.StringList("to") ?? [];
        if (to.Count == 0)
        {
            map.Invalid("to", $"routes.{name}.to is required: the receivers it sends to, e.g. to: [oncall]");
        }
        foreach (var receiver in to.Where(r => !receivers.ContainsKey(r)))
        {
            map.Invalid("to", $"routes.{name}.to names '{receiver}', which is not a receiver (known: {string.Join(", ", receivers.Keys)})");
        }
        var kinds = map.StringList("kinds") ?? [];
        foreach (var kind in kinds.Where(k => !EventKinds.IsValidPattern(k)))
        {
            map.Invalid("kinds", $"routes.{name}.kinds: '{kind}' is not a kind (e.g. node.failed), an area (node) or kind=state (rollout.state=paused)");
        }
        var selector = map.Selector("selector");
        var severity = EventSeverity.Info;
        if (map.Text("severity") is { } severityText && !Enum.TryParse(severityText, ignoreCase: true, out severity))
        {
            map.Invalid("severity", $"routes.{name}.severity '{severityText}' must be info, warning or error");
        }
        return new RouteSettings
        {
            Name = name, To = to, Kinds = kinds, Nodes = map.StringList("nodes") ?? [], Selector = selector, Severity = severity,
            AtLeast = map.WholeNumber("atLeast", 1, 100_000) ?? 1, Within = Duration(map, "within") ?? TimeSpan.FromHours(1),
        };
    }

    private static TimeSpan? Duration(YamlSettingsMap map, string key)
    {
        if (map.Text(key) is not { } text)
        {
            return null;
        }
        if (!Durations.TryParse(text, key, out var value, out var error) || value <= TimeSpan.Zero)
        {
            map.Invalid(key, error ?? $"{key} must be longer than zero");
            return null;
        }
        return value;
    }
}
