using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Store;

/// <summary>
/// Deletes events older than the retention window, a small batch per transaction, as a background job:
/// a prune of a million rows never holds the store's write lock for long, so reports and applies go on.
/// </summary>
public sealed class EventPruner(ControllerStore store, TimeSpan retention, ILogger logger)
{
    /// <summary>Rows deleted per transaction.</summary>
    public const int BatchSize = 2_000;

    /// <summary>How often the window is enforced: a tenth of it, between a second and an hour.</summary>
    public TimeSpan Interval { get; } = TimeSpan.FromTicks(Math.Clamp(retention.Ticks / 10, TimeSpan.TicksPerSecond, TimeSpan.TicksPerHour));

    /// <summary>Prunes until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var removed = await PruneAsync(DateTimeOffset.UtcNow - retention, cancellationToken);
            if (removed > 0)
            {
                ControllerLog.EventsPruned(logger, removed, retention);
            }
            await Task.Delay(Interval, cancellationToken);
        }
    }

    /// <summary>Deletes every event before <paramref name="before"/>, batch by batch, yielding between batches; returns how many.</summary>
    public async Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        var total = 0;
        int removed;
        do
        {
            removed = await store.Events.PruneAsync(before, BatchSize, cancellationToken);
            total += removed;
            await Task.Yield();
        }
        while (removed == BatchSize && !cancellationToken.IsCancellationRequested);
        return total;
    }
}
