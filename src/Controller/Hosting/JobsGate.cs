namespace Hawser.Controller.Hosting;

/// <summary>
/// Held shut until the controller serves: the loops (<see cref="SupervisedJob"/>) start only once its port is bound and it
/// has said <c>ready</c>, as before the generic host, so their first lines follow <c>ready</c> and a restart resumes
/// work only on a controller agents can reach.
/// </summary>
public sealed class JobsGate
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Lets every loop start.</summary>
    public void Open() => _open.TrySetResult();

    /// <summary>Completes once <see cref="Open"/> was called (or throws when <paramref name="cancellationToken"/> fires first).</summary>
    public Task WaitAsync(CancellationToken cancellationToken) => _open.Task.WaitAsync(cancellationToken);
}
