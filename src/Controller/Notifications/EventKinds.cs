using System.Text.RegularExpressions;
using Hawser.Controller.Store;

namespace Hawser.Controller.Notifications;

/// <summary>How serious each event kind is, and how a route's kind pattern matches an event.</summary>
public static partial class EventKinds
{
    /// <summary>The notifier's own events (undeliverable): sent only to a route that names them, never to a catch-all.</summary>
    public const string NotificationArea = "notification";

    /// <summary>How serious <paramref name="record"/> is.</summary>
    public static EventSeverity Severity(EventRecord record) => record.Kind switch
    {
        "node.failed" or "certificate.order-failed" or "certificate.not-served" or "node.stalled" or "notification.undeliverable" => EventSeverity.Error,
        "rollout.state" => State(record) switch
        {
            "aborted" or "rolled-back" => EventSeverity.Error,
            "paused" or "rolling-back" => EventSeverity.Warning,
            _ => EventSeverity.Info,
        },
        "node.offline" or "node.drift-corrected" or "node.throttled" or "certificate.served-expiring" => EventSeverity.Warning,
        _ => EventSeverity.Info,
    };

    /// <summary>
    /// True when <paramref name="pattern"/> takes <paramref name="record"/>: the kind itself, its area (<c>node</c> takes
    /// <c>node.failed</c>), or <c>kind=state</c> for a rollout's state change (<c>rollout.state=paused</c>).
    /// </summary>
    public static bool Matches(string pattern, EventRecord record)
    {
        var (kind, state) = pattern.Split('=', 2) is [var k, var s] ? (k, s) : (pattern, null);
        var kindMatches = record.Kind == kind || (record.Kind.StartsWith(kind, StringComparison.Ordinal) && record.Kind.Length > kind.Length && record.Kind[kind.Length] == '.');
        return kindMatches && (state is null || State(record) == state);
    }

    /// <summary>A kind (<c>node.failed</c>), an area (<c>node</c>) or <c>kind=state</c>.</summary>
    public static bool IsValidPattern(string pattern) => PatternSyntax().IsMatch(pattern);

    /// <summary>The state a <c>rollout.state</c> event moved to (its summary reads <c>running -&gt; paused: why</c>); null for other kinds.</summary>
    public static string? State(EventRecord record)
    {
        if (record.Kind != "rollout.state")
        {
            return null;
        }
        var arrow = record.Summary.IndexOf("-> ", StringComparison.Ordinal);
        if (arrow < 0)
        {
            return null;
        }
        var rest = record.Summary[(arrow + 3)..];
        var end = rest.IndexOfAny([':', ' ']);
        return end < 0 ? rest : rest[..end];
    }

    [GeneratedRegex(@"^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)?(=[a-z][a-z0-9-]*)?$")]
    private static partial Regex PatternSyntax();
}
