using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Hosting;

/// <summary>
/// One of the controller's loops as a hosted service: run under <see cref="BackgroundJobs"/>' supervision (restarted
/// with back-off, reported down through the health service), stopped with the host. A loop that has not ended when
/// the host's grace period runs out is named in the log rather than left running unseen.
/// </summary>
public sealed class SupervisedJob(string name, Func<CancellationToken, Task> job, BackgroundJobs jobs, JobsGate gate, ILogger logger) : BackgroundService
{
    /// <summary>The job's name in logs and in the health service's answer.</summary>
    public string Name { get; } = name;

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await gate.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return; // stopped before it served
        }
        await jobs.RunAsync(Name, job, stoppingToken);
    }

    /// <inheritdoc/>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (ExecuteTask is { IsCompleted: false })
        {
            ControllerLog.JobDidNotStop(logger, Name);
        }
    }
}
