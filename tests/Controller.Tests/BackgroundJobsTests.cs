using Hawser.Controller.Hosting;
using Hawser.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Hawser.Controller.Tests;

/// <summary>The supervision of the controller's jobs (logic only: the job is a delegate that fails on cue).</summary>
[TestClass]
public sealed class BackgroundJobsTests
{
    [TestMethod]
    public async Task A_job_that_throws_is_reported_down_logged_and_started_again_until_it_runs()
    {
        var log = new ListLogger();
        var jobs = new BackgroundJobs(log) { FirstRetry = TimeSpan.FromMilliseconds(20), MaxRetry = TimeSpan.FromMilliseconds(80) };
        using var stop = new CancellationTokenSource();
        var attempts = 0;
        var running = new TaskCompletionSource();
        var seenDown = new List<string>();

        var supervised = jobs.RunAsync("certificate renewer", async token =>
        {
            if (++attempts <= 3)
            {
                throw new InvalidOperationException($"store failed #{attempts}");
            }
            running.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
        }, stop.Token);
        // Watched every millisecond: each down spell lasts only the short back-off of this test.
        await Poll.UntilAsync(() =>
        {
            if (jobs.Problems.TryGetValue("certificate renewer", out var why))
            {
                seenDown.Add(why);
            }
            return running.Task.IsCompleted;
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(1));

        Assert.AreEqual(4, attempts);
        Assert.IsEmpty(jobs.Problems, "a running job is not reported down");
        Assert.IsTrue(seenDown.Any(w => w.StartsWith("InvalidOperationException: store failed", StringComparison.Ordinal)), string.Join("; ", seenDown));
        Assert.AreEqual(3, log.Lines.Count(l => l.Contains("certificate renewer failed (InvalidOperationException: store failed", StringComparison.Ordinal)), string.Join("\n", log.Lines));
        await stop.CancelAsync();
        await supervised;
        Assert.IsEmpty(jobs.Problems, "stopping is not a failure");
    }

    [TestMethod]
    public async Task A_job_that_returns_on_its_own_is_a_failure_too()
    {
        var log = new ListLogger();
        var jobs = new BackgroundJobs(log) { FirstRetry = TimeSpan.FromHours(1) };
        using var stop = new CancellationTokenSource();

        var supervised = jobs.RunAsync("rollout engine", _ => Task.CompletedTask, stop.Token);
        await Poll.UntilAsync(() => jobs.Problems.Count > 0, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(1));

        Assert.AreEqual("it stopped on its own", jobs.Problems["rollout engine"]);
        await stop.CancelAsync();
        await supervised;
    }

    [TestMethod]
    public async Task The_host_stops_its_jobs_and_names_the_one_that_did_not_end_within_the_grace_period()
    {
        var log = new ListLogger();
        var jobs = new BackgroundJobs(log);
        var started = new TaskCompletionSource();
        var politeStarted = new TaskCompletionSource();
        var politeStopped = new TaskCompletionSource();
        using var release = new CancellationTokenSource();
        var gate = new JobsGate();
        gate.Open();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.Configure<HostOptions>(o => ControllerServices.ConfigureStop(o, TimeSpan.FromMilliseconds(300)));
        builder.Services.AddSingleton<IHostedService>(new SupervisedJob("polite loop", async token =>
        {
            try
            {
                politeStarted.TrySetResult();
                await Task.Delay(Timeout.Infinite, token);
            }
            finally
            {
                politeStopped.TrySetResult();
            }
        }, jobs, gate, log));
        // A loop stuck in a call that ignores its token (a driver that never times out).
        builder.Services.AddSingleton<IHostedService>(new SupervisedJob("stuck loop", async _ =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, release.Token);
        }, jobs, gate, log));
        using var host = builder.Build();

        await host.StartAsync();
        await Task.WhenAll(started.Task, politeStarted.Task).WaitAsync(TimeSpan.FromSeconds(30));
        await host.StopAsync();

        Assert.IsTrue(politeStopped.Task.IsCompleted, "the loop that honours its token ended within the stop: " + string.Join("\n", log.Lines));
        var warnings = log.Lines.Where(l => l.StartsWith("Warning:", StringComparison.Ordinal)).ToList();
        CollectionAssert.AreEqual(new[] { "Warning: stuck loop did not stop within the shutdown grace period; exiting without it" }, warnings, string.Join("\n", log.Lines));
        await release.CancelAsync();
    }
}
