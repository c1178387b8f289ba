using System.Net;
using Grpc.Core;
using Hawser.Controller.Store;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Api;

/// <summary>
/// Refused calls: each one logged, and stored as events one per caller (an operator or node, else the peer address) and
/// address per window: the first refusal of a window is stored in full, naming who tried what; the rest are counted and
/// said in one event when the window ends. A peer that calls thousands of times a second costs the store one row a minute,
/// not one a call.
/// </summary>
public sealed class RefusalLog(ControllerStore store, ILogger logger, TimeSpan? window = null)
{
    /// <summary>How long refusals from one address are counted before one event says how many there were.</summary>
    public TimeSpan Window { get; } = window ?? TimeSpan.FromMinutes(1);

    /// <summary>Addresses tracked at once; beyond, every further address shares one count (a spray from many addresses).</summary>
    public const int MaxPeers = 10_000;

    private const string Others = "other addresses";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, PeerWindow> _peers = new(StringComparer.Ordinal);

    private sealed class PeerWindow(DateTimeOffset start, string actor, string address)
    {
        public string Actor { get; } = actor;
        public string Address { get; } = address;
        public DateTimeOffset Start { get; set; } = start;
        public long Counted { get; set; }
        public string LastMethod { get; set; } = "";
        public StatusCode LastCode { get; set; }
    }

    /// <summary>The address part of a gRPC peer (<c>ipv4:10.0.0.1:5000</c> → <c>10.0.0.1</c>): a client's every port is one peer.</summary>
    public static string AddressOf(ServerCallContext context) =>
        context.GetHttpContext().Connection.RemoteIpAddress is { } address ? (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString() : context.Peer;

    /// <summary>
    /// Records one refused call by <paramref name="actor"/> (null: an anonymous peer); stores an event for the first of its
    /// caller's window (and for the window that ended before it).
    /// </summary>
    public void Refused(ServerCallContext context, StatusCode code, string message, string? node = null, string? actor = null) =>
        Refused("rpc.refused", context.Method, context.Peer, AddressOf(context), code, message, node, actor);

    /// <summary>As for a gRPC call, for a web request (<c>web.refused</c>): <paramref name="route"/> refused to <paramref name="actor"/> from <paramref name="address"/>.</summary>
    public void WebRefused(string route, string address, string message, string actor) =>
        Refused("web.refused", route, address, address, StatusCode.PermissionDenied, message, null, actor);

    private void Refused(string kind, string method, string peerText, string address, StatusCode code, string message, string? node, string? actor)
    {
        actor ??= $"peer:{address}";
        var key = $"{actor} {address}";
        var now = DateTimeOffset.UtcNow;
        EventRecord? ended = null;
        bool first;
        lock (_lock)
        {
            if (!_peers.TryGetValue(key, out var peer))
            {
                if (_peers.Count >= MaxPeers && !_peers.ContainsKey(Others))
                {
                    key = Others;
                }
                if (!_peers.TryGetValue(key, out peer))
                {
                    peer = _peers[key] = key == Others ? new PeerWindow(now, "peer:" + Others, Others) { Counted = -1 } : new PeerWindow(now, actor, address) { Counted = -1 };
                }
            }
            if (now - peer.Start >= Window)
            {
                ended = Summary(peer, now);
                peer.Start = now;
                peer.Counted = -1;
            }
            peer.Counted++;
            peer.LastMethod = method;
            peer.LastCode = code;
            first = peer.Counted == 0;
            (actor, address) = (peer.Actor, peer.Address);
        }
        // Every refusal is a log line (journald rate-limits a flood of them on its own); the store gets one event a window.
        ControllerLog.Refused(logger, method, peerText, code, message);
        if (ended is not null)
        {
            Store(ended);
        }
        if (first)
        {
            Store(new EventRecord
            {
                Kind = kind, Actor = actor, Node = node ?? "",
                Summary = $"refused {method}" + (node is null ? "" : $" for node '{node}'") + $" to {actor} from {address}: {code}",
                Details = [message, $"further refusals of {actor} from {address} within {Window.TotalSeconds:0} s are counted in one event"],
            });
        }
    }

    /// <summary>Events waiting for <see cref="RunAsync"/> to store them: a refusal never waits on the store.</summary>
    private readonly System.Threading.Channels.Channel<EventRecord> _unstored =
        System.Threading.Channels.Channel.CreateBounded<EventRecord>(new System.Threading.Channels.BoundedChannelOptions(MaxUnstored)
        {
            // Past this the store is far behind; the log lines still say every refusal.
            FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite,
            SingleReader = true,
        });

    /// <summary>Refusal events that may wait to be stored.</summary>
    public const int MaxUnstored = 1000;

    private void Store(EventRecord record) => _unstored.Writer.TryWrite(record);

    /// <summary>Stores each window's count as it ends, and every count still open when <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Window);
        var tick = timer.WaitForNextTickAsync(cancellationToken).AsTask();
        try
        {
            while (true)
            {
                var queued = _unstored.Reader.WaitToReadAsync(cancellationToken).AsTask();
                if (await Task.WhenAny(tick, queued) == tick)
                {
                    await tick;
                    Flush();
                    tick = timer.WaitForNextTickAsync(cancellationToken).AsTask();
                }
                await StoreQueuedAsync(cancellationToken);
            }
        }
        finally
        {
            if (cancellationToken.IsCancellationRequested)
            {
                Flush(all: true);
                await StoreQueuedAsync(CancellationToken.None);
            }
        }
    }

    private async Task StoreQueuedAsync(CancellationToken cancellationToken)
    {
        while (_unstored.Reader.TryRead(out var record))
        {
            await store.Events.AddAsync(record, cancellationToken);
        }
    }

    /// <summary>Queues the counts of windows that ended with refusals after their first (the timer, or shutdown) to be stored.</summary>
    public void Flush(bool all = false)
    {
        var now = DateTimeOffset.UtcNow;
        var events = new List<EventRecord>();
        lock (_lock)
        {
            foreach (var (key, peer) in _peers.ToList())
            {
                if (all || now - peer.Start >= Window)
                {
                    if (Summary(peer, now) is { } summary)
                    {
                        events.Add(summary);
                    }
                    _peers.Remove(key);
                }
            }
        }
        foreach (var record in events)
        {
            Store(record);
        }
    }

    private static EventRecord? Summary(PeerWindow peer, DateTimeOffset now)
    {
        if (peer.Counted <= 0)
        {
            return null;
        }
        return new EventRecord
        {
            Kind = "rpc.refused", Actor = peer.Actor,
            Summary = $"refused {peer.Counted} more call(s) of {peer.Actor} from {peer.Address} in {(now - peer.Start).TotalSeconds:0} s (the last: {peer.LastMethod}, {peer.LastCode})",
        };
    }
}
