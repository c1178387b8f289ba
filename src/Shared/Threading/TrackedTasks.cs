namespace Hawser.Shared.Threading;

/// <summary>
/// Work started beside a loop instead of fire-and-forget: each task is kept until it ends, and the owner waits for
/// what is left when it stops, so nothing it started outlives it unseen.
/// </summary>
public sealed class TrackedTasks
{
    private readonly HashSet<Task> _running = [];

    /// <summary>Keeps <paramref name="task"/> until it ends.</summary>
    public void Add(Task task)
    {
        lock (_running)
        {
            _running.Add(task);
        }
        _ = task.ContinueWith(done =>
        {
            lock (_running)
            {
                _running.Remove(done);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Completes when every task kept so far has ended (faulted ones fault it).</summary>
    public Task WhenAllAsync()
    {
        lock (_running)
        {
            return Task.WhenAll([.. _running]);
        }
    }
}
