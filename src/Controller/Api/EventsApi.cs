using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Api;

/// <summary>The event log's methods of <c>hawser.v1.ControlService</c>: list, and watch (list, then follow). Any operator; one scoped by a selector sees the events of its own nodes and those about no node.</summary>
public sealed class EventsApi(ControllerStore store)
{
    /// <summary>Events listed when the caller names no limit.</summary>
    public const int DefaultLimit = 200;

    /// <summary>The most events one call returns.</summary>
    public const int MaxLimit = 10_000;

    /// <summary>The most bytes of events one ListEvents response carries (the newest first); older ones are counted as omitted.</summary>
    public const int MaxResponseBytes = 2 * 1024 * 1024;

    internal async Task<ListEventsResponse> ListAsync(ListEventsRequest request, ServerCallContext context)
    {
        var visible = await VisibleAsync(context);
        var events = (await store.Events.ListAsync(Query(request), context.CancellationToken)).Where(visible).ToList();
        var response = new ListEventsResponse();
        var kept = new List<Event>();
        var size = 0;
        for (var i = events.Count - 1; i >= 0; i--)
        {
            var message = ToMessage(events[i]);
            size += message.CalculateSize() + 8;
            if (size > MaxResponseBytes)
            {
                response.Omitted = (uint)(i + 1);
                break;
            }
            kept.Add(message);
        }
        kept.Reverse();
        response.Events.Add(kept);
        return response;
    }

    /// <summary>Sends what <see cref="ListAsync"/> would, then each matching event as it is stored, until the caller goes.</summary>
    internal async Task WatchAsync(ListEventsRequest request, IServerStreamWriter<Event> stream, ServerCallContext context)
    {
        var follower = new EventFollower(store, Query(request));
        var visible = await VisibleAsync(context);
        var cancellationToken = context.CancellationToken;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // Ask for the wake-up before reading, so an event stored between the read and the wait is not missed.
                var stored = store.Events.WaitAsync(cancellationToken);
                // After the first page, every new event (not just the newest few of a burst).
                foreach (var record in (await follower.NextAsync(MaxLimit, context.CancellationToken)).Where(visible))
                {
                    await stream.WriteAsync(ToMessage(record), cancellationToken);
                }
                await stored;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller stopped following.
        }
    }

    /// <summary>Which events the caller sees: all, or for an operator scoped by a selector, those about no node or about one in its scope.</summary>
    private async Task<Func<EventRecord, bool>> VisibleAsync(ServerCallContext context) =>
        await OperatorScope.VisibleNodesAsync(store, context) is { } sees ? e => e.Node.Length == 0 || sees(e.Node) : _ => true;

    private static EventQuery Query(ListEventsRequest request) => new()
    {
        Node = request.Node.Length > 0 ? request.Node : null,
        Kind = request.Kind.Length > 0 ? request.Kind : null,
        Actor = request.Actor.Length > 0 ? request.Actor : null,
        Since = request.Since?.ToDateTimeOffset(),
        AfterId = (long)Math.Min(request.AfterId, long.MaxValue),
        Limit = request.Limit == 0 ? DefaultLimit : (int)Math.Min(request.Limit, MaxLimit),
    };

    /// <summary>An event as the API sends it.</summary>
    public static Event ToMessage(EventRecord record)
    {
        var message = new Event
        {
            Id = (ulong)record.Id,
            At = Timestamp.FromDateTimeOffset(record.At),
            Kind = record.Kind,
            Actor = record.Actor,
            Node = record.Node,
            Revision = record.Revision,
            Summary = record.Summary,
        };
        message.Details.Add(record.Details);
        return message;
    }
}
