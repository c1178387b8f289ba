using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Hosting;

/// <summary>
/// The controller's long-running jobs (the certificate renewer, the rollout engine). A job that throws
/// is logged with the reason and started again after a back-off (doubling up to <see cref="MaxRetry"/>);
/// while any job is down, <see cref="Problems"/> says so and the health service answers NOT_SERVING,
/// so a controller never reports itself healthy with a dead job.
/// </summary>
public sealed class BackgroundJobs(ILogger logger)
{
    private readonly ConcurrentDictionary<string, string> _down = new(StringComparer.Ordinal);

    /// <summary>The first wait before a failed job is started again.</summary>
    public TimeSpan FirstRetry { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between restarts.</summary>
    public TimeSpan MaxRetry { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Each job that is down, with why; empty when all run.</summary>
    public IReadOnlyDictionary<string, string> Problems => _down;

    /// <summary>Runs <paramref name="job"/> under this supervision until <paramref name="cancellationToken"/> fires.</summary>
    public Task RunAsync(string name, Func<CancellationToken, Task> job, CancellationToken cancellationToken) => Task.Run(async () =>
    {
        var retry = FirstRetry;
        while (!cancellationToken.IsCancellationRequested)
        {
            var started = DateTimeOffset.UtcNow;
            string why;
            try
            {
                await job(cancellationToken);
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                why = "it stopped on its own";
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                why = $"{ex.GetType().Name}: {ex.Message}";
            }
            // A job that ran a good while before failing starts over from the first back-off.
            retry = DateTimeOffset.UtcNow - started > MaxRetry ? FirstRetry : retry;
            _down[name] = why;
            ControllerLog.JobFailed(logger, name, why, retry);
            try
            {
                await Task.Delay(retry, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            retry = retry * 2 > MaxRetry ? MaxRetry : retry * 2;
            _down.TryRemove(name, out _);
            ControllerLog.JobRestarted(logger, name);
        }
    }, CancellationToken.None);
}
