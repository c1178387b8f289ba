using Hawser.Controller.Store;

namespace Hawser.Controller.Notifications;

/// <summary>
/// Which receivers an event goes to, by the settings' routes. Asked as each event is stored, inside its transaction:
/// kind, node and severity are checked in memory; a node's labels and a kind's recent count are read (through the
/// caller's transaction) only for a route that needs them.
/// </summary>
public sealed class NotificationRouter(NotificationSettings settings)
{
    /// <summary>The settings routed by.</summary>
    public NotificationSettings Settings { get; } = settings;

    /// <summary>The receivers <paramref name="record"/> goes to (none, most often), each once.</summary>
    /// <param name="record">The event being stored.</param>
    /// <param name="labelsOf">Reads a node's labels.</param>
    /// <param name="countSince">Counts the node's events of the record's kind stored since a time (the record not among them).</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    public async Task<IReadOnlyList<string>> ReceiversAsync(EventRecord record, Func<string, Task<IReadOnlyDictionary<string, string>>> labelsOf,
        Func<DateTimeOffset, Task<long>> countSince, CancellationToken cancellationToken = default)
    {
        List<string>? receivers = null;
        IReadOnlyDictionary<string, string>? labels = null;
        var severity = EventKinds.Severity(record);
        foreach (var route in Settings.Routes)
        {
            if (severity < route.Severity || !KindMatches(route, record)
                || (route.Nodes.Count > 0 && !route.Nodes.Contains(record.Node, StringComparer.Ordinal)))
            {
                continue;
            }
            if (route.Selector.Count > 0)
            {
                if (record.Node.Length == 0)
                {
                    continue;
                }
                labels ??= await labelsOf(record.Node);
                if (!route.Selector.All(s => labels.TryGetValue(s.Key, out var value) && value == s.Value))
                {
                    continue;
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (route.AtLeast > 1 && await countSince(record.At - route.Within) + 1 < route.AtLeast)
            {
                continue;
            }
            receivers ??= [];
            receivers.AddRange(route.To.Where(r => !receivers.Contains(r, StringComparer.Ordinal)));
        }
        return receivers ?? (IReadOnlyList<string>)[];
    }

    private static bool KindMatches(RouteSettings route, EventRecord record) => route.Kinds.Count == 0
        ? !EventKinds.Matches(EventKinds.NotificationArea, record)
        : route.Kinds.Any(pattern => EventKinds.Matches(pattern, record));
}
