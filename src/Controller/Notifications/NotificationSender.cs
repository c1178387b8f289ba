using Hawser.Controller.Sessions;
using Hawser.Controller.Store;
using Hawser.Controller.Store.Repositories;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Notifications;

/// <summary>
/// Sends the outbox: one controller at a time (under the <c>notifications</c> lease with a shared store), each due
/// notification to its receiver, repeats of one kind on one node grouped into one message per window, failures retried
/// with doubling waits until <see cref="NotificationSettings.RetryFor"/> has passed, then marked undeliverable with an
/// event. Delivery is at least once: a controller that dies between a receiver's answer and marking it delivered sends it
/// again, with the same idempotency key. Also says <c>node.offline</c> for a node not connected for the grace period.
/// </summary>
public sealed class NotificationSender(ControllerStore store, NotificationSettings settings, AgentSessions sessions, HttpClient http, ILogger logger) : IDisposable
{
    /// <summary>The lease one controller sends under.</summary>
    public const string LeaseName = "notifications";

    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Dictionary<string, DateTimeOffset> _saidOffline = new(StringComparer.Ordinal);

    // Whether any route takes node.offline: decided once, not on every check.
    private readonly bool _offlineRouted = settings.Routes.Any(r => r.Kinds.Count == 0
        || r.Kinds.Any(k => EventKinds.Matches(k, new EventRecord { Kind = "node.offline", Actor = "", Summary = "" })));

    /// <summary>Who holds the lease (this controller's id).</summary>
    public string Holder { get; init; } = "controller";

    /// <summary>How long the lease lasts unless renewed.</summary>
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the outbox is looked at without a wake-up (rows another controller wrote, a lease to take).</summary>
    public TimeSpan Poll { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a delivered or undeliverable notification is kept.</summary>
    public TimeSpan Keep { get; init; } = TimeSpan.FromDays(7);

    /// <inheritdoc/>
    public void Dispose()
    {
        _wake.Dispose();
        http.Dispose();
    }

    /// <summary>Wakes the loop (a notification was queued).</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (Exception ex) when (ex is SemaphoreFullException or ObjectDisposedException)
        {
            // Already woken, or stopped.
        }
    }

    /// <summary>Sends until cancelled; with a shared store only while holding the lease.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!store.Engine.IsShared)
            {
                await SendLoopAsync(cancellationToken);
                return;
            }
            await using var lease = await HeldLease.TryTakeAsync(store, LeaseName, Holder, LeaseTtl, logger, cancellationToken);
            if (lease is null)
            {
                await Task.Delay(LeaseTtl / 3, cancellationToken);
                continue;
            }
            using var held = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Lost);
            try
            {
                await SendLoopAsync(held.Token);
            }
            catch (OperationCanceledException) when (lease.IsLost && !cancellationToken.IsCancellationRequested)
            {
                // Another controller sends now; this one waits to take the lease again.
            }
        }
    }

    private async Task SendLoopAsync(CancellationToken cancellationToken)
    {
        var offlineCheck = DateTimeOffset.MinValue;
        var prune = DateTimeOffset.UtcNow;
        var offlineEvery = settings.OfflineAfter / 5 < TimeSpan.FromSeconds(30) ? settings.OfflineAfter / 5 : TimeSpan.FromSeconds(30);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await SendDueAsync(cancellationToken);
            var now = DateTimeOffset.UtcNow;
            if (now >= offlineCheck)
            {
                await SayOfflineAsync(now, cancellationToken);
                offlineCheck = now + offlineEvery;
            }
            if (now >= prune)
            {
                while (await store.Outbox.PruneAsync(now - Keep, 500, cancellationToken) == 500)
                {
                }
                prune = now + TimeSpan.FromHours(1);
            }
            var wait = offlineCheck - now;
            if (await store.Outbox.NextDueAsync(cancellationToken) is { } due && due - now < wait)
            {
                wait = due - now;
            }
            if (store.Engine.IsShared && Poll < wait)
            {
                wait = Poll;
            }
            if (wait > TimeSpan.Zero)
            {
                await _wake.WaitAsync(wait, cancellationToken);
            }
        }
    }

    /// <summary>Sends every due notification, a message per group; returns when none is due.</summary>
    private async Task SendDueAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = DateTimeOffset.UtcNow;
            var due = await store.Outbox.DueAsync(now, 200, cancellationToken);
            if (due.Count == 0)
            {
                return;
            }
            foreach (var group in due.GroupBy(e => e.GroupKey))
            {
                await SendGroupAsync([.. group], cancellationToken);
            }
            if (due.Count < 200)
            {
                return;
            }
        }
    }

    private async Task SendGroupAsync(IReadOnlyList<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var ids = entries.Select(e => e.Id).ToList();
        var first = entries[0];
        // A repeat within the window waits for the window's end, to go out with the others like it as one message.
        if (entries.All(e => e.Attempts == 0) && await store.Outbox.LastDeliveredAsync(first.GroupKey, cancellationToken) is { } last
            && last + settings.GroupWindow > now)
        {
            await store.Outbox.PostponeAsync(ids, last + settings.GroupWindow, cancellationToken);
            return;
        }
        var error = settings.Receivers.TryGetValue(first.Receiver, out var receiver)
            ? await DeliverAsync(new NotificationMessage(receiver, entries), cancellationToken)
            : $"this controller's notifications file names no receiver '{first.Receiver}' (give every controller the same file)";
        now = DateTimeOffset.UtcNow;
        if (error is null)
        {
            await store.Outbox.DeliveredAsync(ids, now, cancellationToken);
            ControllerLog.NotificationDelivered(logger, first.Event.Kind, entries.Count, first.Receiver);
            return;
        }
        var oldest = entries.Min(e => e.Event.At);
        if (now - oldest >= settings.RetryFor)
        {
            ControllerLog.NotificationUndeliverable(logger, first.Event.Kind, first.Receiver, error);
            await store.Outbox.UndeliverableAsync(ids, error, now, new EventRecord
            {
                Kind = "notification.undeliverable", Actor = "controller", Node = first.Event.Node, Revision = first.Event.Revision,
                Summary = $"{entries.Count} notification(s) of {first.Event.Kind} to {first.Receiver} given up after {Shared.Cli.Durations.Format(settings.RetryFor)}: {error}",
                Details = [.. entries.Take(5).Select(e => $"{e.Event.At.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z {e.Event.Summary}")],
            }, cancellationToken);
            return;
        }
        var attempts = entries.Max(e => e.Attempts);
        var backoff = TimeSpan.FromTicks(Math.Min(settings.MaxRetryWait.Ticks, settings.FirstRetry.Ticks * (1L << Math.Min(attempts, 20))));
        var next = now + backoff;
        ControllerLog.NotificationFailed(logger, first.Event.Kind, first.Receiver, attempts + 1, error, next);
        await store.Outbox.FailedAsync(ids, error, next, cancellationToken);
    }

    /// <summary>Posts <paramref name="message"/>; null when the receiver took it (2xx), else why not.</summary>
    public async Task<string?> DeliverAsync(NotificationMessage message, CancellationToken cancellationToken)
    {
        try
        {
            using var request = message.Request();
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return null;
            }
            var body = await ReadSomeAsync(response, cancellationToken);
            return $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}" + (body.Length > 0 ? $": {body}" : "");
        }
        catch (HttpRequestException ex)
        {
            return ex.InnerException is { } inner ? $"{ex.Message} ({inner.Message})" : ex.Message;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"no answer within {http.Timeout.TotalSeconds:0} s";
        }
    }

    // A receiver's error page is for the log: its first 200 characters, one line, nothing acted on.
    private static async Task<string> ReadSomeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var buffer = new char[200];
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        var read = await reader.ReadBlockAsync(buffer, cancellationToken);
        return Shared.Cli.TerminalText.Neutralize(new string(buffer, 0, read).Trim());
    }

    /// <summary>Stores <c>node.offline</c> once for each node not connected since longer than the grace period.</summary>
    private async Task SayOfflineAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!_offlineRouted)
        {
            return;
        }
        foreach (var node in await store.Nodes.ListWithoutReportsAsync(cancellationToken))
        {
            if (sessions.IsConnected(node) || now - node.LastSeen < settings.OfflineAfter)
            {
                continue;
            }
            if (_saidOffline.TryGetValue(node.Name, out var said) && said == node.LastSeen)
            {
                continue;
            }
            // Said already for this disconnect (by this controller before a restart, or by another)?
            var before = await store.Events.ListAsync(new EventQuery { Node = node.Name, Kind = "node.offline", Since = node.LastSeen, Limit = 1 }, cancellationToken);
            if (before.Count == 0)
            {
                await store.Events.AddAsync(new EventRecord
                {
                    Kind = "node.offline", Actor = "controller", Node = node.Name,
                    Summary = $"node {node.Name} has not been connected since {node.LastSeen.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z ({Shared.Cli.Durations.Format(now - node.LastSeen)})",
                    Details = [$"the grace period is {Shared.Cli.Durations.Format(settings.OfflineAfter)} (offlineAfter in the notifications file)"],
                }, cancellationToken);
            }
            _saidOffline[node.Name] = node.LastSeen;
        }
    }
}
