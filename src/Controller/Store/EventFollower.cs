namespace Hawser.Controller.Store;

/// <summary>
/// Reads the event log for a follower (<c>hawserctl events --follow</c>): the first page as asked, then every event
/// stored since, each once. On PostgreSQL, ids come from a sequence when a transaction inserts, not when it commits, so
/// an event can become visible after events with larger ids; each read therefore looks back <see cref="OutOfOrderWindow"/>
/// ids behind the largest sent and skips what was sent already. SQLite commits one writer at a time, in id order.
/// </summary>
public sealed class EventFollower(ControllerStore store, EventQuery first)
{
    /// <summary>How many ids behind the largest sent a shared store's reads look for events committed late.</summary>
    public const int OutOfOrderWindow = 1000;

    private readonly HashSet<long> _sent = [];
    private EventQuery _query = first;
    private readonly long _askedAfter = first.AfterId;
    private long? _floor;
    private long _largest;

    /// <summary>The events not returned before, oldest first: the first page as asked, then (at most <paramref name="limit"/> at a time) every newer one.</summary>
    public async Task<IReadOnlyList<EventRecord>> NextAsync(int limit, CancellationToken cancellationToken)
    {
        // What the log held when following began is the first page's business (its limit, its time); only later ids follow.
        var floor = _floor ??= Math.Max(_askedAfter, await store.Events.LastIdAsync(cancellationToken));
        var fresh = (await store.Events.ListAsync(_query, cancellationToken)).Where(e => _sent.Add(e.Id)).ToList();
        _largest = Math.Max(_largest, fresh.Count == 0 ? 0 : fresh.Max(e => e.Id));
        var after = Math.Max(floor, _largest - (store.Engine.IsShared ? OutOfOrderWindow : 0));
        _sent.RemoveWhere(id => id <= after);
        _query = _query with { AfterId = after, Limit = limit, Since = null };
        return fresh;
    }
}
