using Hawser.Controller.Store.Engines;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hawser.Controller.Store;

/// <summary>
/// Tells this controller what other controllers changed in a shared store: at once through PostgreSQL's
/// LISTEN/NOTIFY (the payload is only the topic), and by comparing the store's change counters every poll
/// interval, so a notification missed (a dropped connection, a pooler that cannot LISTEN) delays a change but never loses it.
/// </summary>
public sealed class StoreWatcher(ControllerStore store, TimeSpan pollInterval, bool listen, ILogger logger)
{
    /// <summary>The topic raised when new events were stored (from the polling only).</summary>
    public const string EventsTopic = "events";

    /// <summary>Called with each changed topic (from any thread; it must return quickly).</summary>
    public event Action<string>? Changed;

    /// <summary>Every topic this watcher raises.</summary>
    public static readonly IReadOnlyList<string> AllTopics =
        [ControllerStore.Topics.Desired, ControllerStore.Topics.Certificates, ControllerStore.Topics.Nodes, ControllerStore.Topics.Messages, ControllerStore.Topics.Rollouts, EventsTopic];

    /// <summary>Listens and polls until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var listening = listen && store.Engine is PostgresEngine postgres ? ListenAsync(postgres, cancellationToken) : Task.CompletedTask;
        (IReadOnlyDictionary<string, long> Topics, long LastEventId)? marks = null;
        using var timer = new PeriodicTimer(pollInterval);
        try
        {
            do
            {
                try
                {
                    var now = await store.ReadChangeMarksAsync(cancellationToken);
                    if (marks is { } before)
                    {
                        foreach (var (topic, serial) in now.Topics)
                        {
                            if (!before.Topics.TryGetValue(topic, out var previous) || previous != serial)
                            {
                                Raise(topic);
                            }
                        }
                        if (now.LastEventId != before.LastEventId)
                        {
                            Raise(EventsTopic);
                        }
                    }
                    marks = now;
                }
                catch (Exception ex) when (ex is StoreException or System.Data.Common.DbException)
                {
                    ControllerLog.StorePollFailed(logger, ex.Message);
                    DropIdleConnections();
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        await listening;
    }

    /// <summary>After the store failed: pooled idle connections may be dead (a restarted server); new ones are opened instead.</summary>
    private void DropIdleConnections()
    {
        if (store.Engine is PostgresEngine postgres)
        {
            postgres.Source.Clear();
        }
    }

    private void Raise(string topic)
    {
        try
        {
            Changed?.Invoke(topic);
        }
        catch (Exception ex)
        {
            ControllerLog.SyncFailed(logger, topic, ex.Message);
        }
    }

    /// <summary>One connection that LISTENs, opened again (with a growing pause) whenever it drops; every topic is raised after each (re)start, for what was missed meanwhile.</summary>
    private async Task ListenAsync(PostgresEngine postgres, CancellationToken cancellationToken)
    {
        var pause = TimeSpan.FromMilliseconds(250);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await postgres.Source.OpenConnectionAsync(cancellationToken);
                connection.Notification += (_, e) => Raise(e.Payload);
                await using (var command = new NpgsqlCommand($"LISTEN {StoreEngine.ChangeChannel}", connection))
                {
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }
                ControllerLog.StoreListening(logger);
                pause = TimeSpan.FromMilliseconds(250);
                foreach (var topic in AllTopics)
                {
                    Raise(topic);
                }
                while (!cancellationToken.IsCancellationRequested)
                {
                    // A quiet connection is probed now and then, so one that died silently is noticed.
                    if (!await connection.WaitAsync(TimeSpan.FromSeconds(15), cancellationToken))
                    {
                        await using var probe = new NpgsqlCommand("SELECT 1", connection);
                        await probe.ExecuteScalarAsync(cancellationToken);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException or TimeoutException)
            {
                ControllerLog.StoreListenLost(logger, ex.Message, pollInterval.TotalSeconds);
                // The listening connection is the first to hear of a server restart; the idle pooled ones died with it,
                // and would each fail the next request made on them.
                postgres.Source.Clear();
                try
                {
                    await Task.Delay(pause, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }
}
