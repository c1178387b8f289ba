using System.Collections.Concurrent;
using System.Diagnostics;

namespace Hawser.Controller.Sessions;

/// <summary>How fast one node may talk to the controller; the defaults leave a real agent (a report a second at most) far inside.</summary>
public sealed record NodeRateOptions
{
    /// <summary>Messages read from one node's stream per second, and the burst; beyond, the controller reads more slowly (the node's writes wait).</summary>
    public double MessagesPerSecond { get; init; } = 20;

    /// <summary>The burst of <see cref="MessagesPerSecond"/>.</summary>
    public int MessageBurst { get; init; } = 100;

    /// <summary>Reports stored per second; beyond, a node's reports are coalesced (the newest kept, processed when its turn comes).</summary>
    public double ReportsPerSecond { get; init; } = 2;

    /// <summary>The burst of <see cref="ReportsPerSecond"/>.</summary>
    public int ReportBurst { get; init; } = 20;

    /// <summary>Events a node's reports may add per minute, and the burst; beyond, they are counted, not stored.</summary>
    public double EventsPerMinute { get; init; } = 2;

    /// <summary>The burst of <see cref="EventsPerMinute"/>.</summary>
    public int EventBurst { get; init; } = 20;

    /// <summary>Streams a node may open per minute, and the burst; beyond, a connect is refused (RESOURCE_EXHAUSTED).</summary>
    public double ConnectsPerMinute { get; init; } = 10;

    /// <summary>The burst of <see cref="ConnectsPerMinute"/>.</summary>
    public int ConnectBurst { get; init; } = 20;

    /// <summary>The least time between two resends of a node's desired state that the node asked for.</summary>
    public TimeSpan ResendInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long coalesced reports and dropped events are counted before one event says so.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Bytes that may wait to be written to one node's stream; past it (a frozen host not taking what is sent) the stream
    /// is closed and the node gets its desired state when it reconnects.
    /// </summary>
    public long SendQueueBytes { get; init; } = 8 * 1024 * 1024;
}

/// <summary>
/// Each node's budgets (token buckets, kept across its reconnects so a new stream does not refill them) and what
/// was held back, counted until <see cref="NodeBudget.TakeThrottled"/> says so in one event per window.
/// </summary>
public sealed class NodeRateLimits(NodeRateOptions options)
{
    private readonly ConcurrentDictionary<string, NodeBudget> _nodes = new(StringComparer.Ordinal);

    /// <summary>The limits in force.</summary>
    public NodeRateOptions Options { get; } = options;

    /// <summary>The budget of <paramref name="node"/> (made on first use).</summary>
    public NodeBudget For(string node) => _nodes.GetOrAdd(node, _ => new NodeBudget(Options));

    /// <summary>Forgets a removed node's budget.</summary>
    public void Forget(string node) => _nodes.TryRemove(node, out _);
}

/// <summary>
/// A token bucket refilled from the clock when it is asked, never by a timer. System.Threading.RateLimiting's buckets
/// each run a timer (or, partitioned, one that visits every partition ten times a second): for 10,000 nodes with four
/// buckets each that is tens of thousands of callbacks a second while every node is idle; this one costs nothing then.
/// </summary>
public sealed class TokenBucket(double perSecond, int burst)
{
    private readonly Lock _lock = new();
    private double _tokens = burst;
    private long _last = Stopwatch.GetTimestamp();

    /// <summary>Takes a token when there is one.</summary>
    public bool TryTake()
    {
        lock (_lock)
        {
            Refill();
            if (_tokens < 1)
            {
                return false;
            }
            _tokens -= 1;
            return true;
        }
    }

    /// <summary>Waits until a token is there and takes it.</summary>
    public async Task TakeAsync(CancellationToken cancellationToken)
    {
        while (!TryTake())
        {
            TimeSpan wait;
            lock (_lock)
            {
                wait = TimeSpan.FromSeconds(Math.Max(0.01, (1 - _tokens) / perSecond));
            }
            await Task.Delay(wait, cancellationToken);
        }
    }

    private void Refill()
    {
        var now = Stopwatch.GetTimestamp();
        _tokens = Math.Min(burst, _tokens + Stopwatch.GetElapsedTime(_last, now).TotalSeconds * perSecond);
        _last = now;
    }
}

/// <summary>One node's token buckets and counters of what they held back.</summary>
public sealed class NodeBudget(NodeRateOptions options)
{
    private readonly Lock _lock = new();
    private long _coalesced;
    private long _eventsDropped;
    private long _messagesSlowed;
    private DateTimeOffset _windowStart = DateTimeOffset.UtcNow;
    private DateTimeOffset _lastResend = DateTimeOffset.MinValue;
    private bool _resending;

    /// <summary>Messages read from the node's streams.</summary>
    public TokenBucket Messages { get; } = new(options.MessagesPerSecond, options.MessageBurst);

    /// <summary>Reports stored.</summary>
    public TokenBucket Reports { get; } = new(options.ReportsPerSecond, options.ReportBurst);

    /// <summary>Events added by the node's reports.</summary>
    public TokenBucket Events { get; } = new(options.EventsPerMinute / 60, options.EventBurst);

    /// <summary>Streams opened.</summary>
    public TokenBucket Connects { get; } = new(options.ConnectsPerMinute / 60, options.ConnectBurst);

    /// <summary>Counts a report replaced by a newer one before it was stored.</summary>
    public void Coalesced() => Interlocked.Increment(ref _coalesced);

    /// <summary>Counts an event not stored.</summary>
    public void EventDropped() => Interlocked.Increment(ref _eventsDropped);

    /// <summary>Counts a message read only after the node's stream was slowed.</summary>
    public void MessageSlowed() => Interlocked.Increment(ref _messagesSlowed);

    /// <summary>
    /// Once the window is over: what was held back in it (null when nothing was, or the window is still open), and a new
    /// window starts. <paramref name="force"/> ends the window now (the node's stream closed).
    /// </summary>
    public (long Coalesced, long EventsDropped, long MessagesSlowed, TimeSpan Window)? TakeThrottled(bool force = false)
    {
        lock (_lock)
        {
            var now = DateTimeOffset.UtcNow;
            var window = now - _windowStart;
            if (!force && window < options.Window)
            {
                return null;
            }
            _windowStart = now;
            var counts = (Interlocked.Exchange(ref _coalesced, 0), Interlocked.Exchange(ref _eventsDropped, 0), Interlocked.Exchange(ref _messagesSlowed, 0));
            return counts is (0, 0, 0) ? null : (counts.Item1, counts.Item2, counts.Item3, window);
        }
    }

    /// <summary>
    /// True when a resend of the desired state may start now: none in flight and the last at least
    /// <see cref="NodeRateOptions.ResendInterval"/> ago. The caller calls <see cref="ResendDone"/> when it ends.
    /// </summary>
    public bool TryStartResend()
    {
        lock (_lock)
        {
            var now = DateTimeOffset.UtcNow;
            if (_resending || now - _lastResend < options.ResendInterval)
            {
                return false;
            }
            _resending = true;
            _lastResend = now;
            return true;
        }
    }

    /// <summary>Ends the resend <see cref="TryStartResend"/> started.</summary>
    public void ResendDone()
    {
        lock (_lock)
        {
            _resending = false;
        }
    }
}
