using System.Diagnostics;
using System.Globalization;
using Hawser.TestSupport;

namespace Hawser.Benchmarks;

/// <summary>
/// One enrolled node floods its controller at the fastest rate its stream allows (every report a new failure, every
/// other one asking for the desired state again, its stream never read) while an operator runs <c>hawserctl status</c>
/// over and over; the same with the node quiet. Prints the controller's CPU share and peak RSS in each window, the
/// status calls' p50/p99, how many messages the node got written, and how much the store grew.
/// To compare with another build of the controller, point <see cref="HawserProcesses.BinaryDirectoryVariable"/> at a
/// directory holding a <c>hawser-controller</c> to run (a script that execs that build's dll will do).
/// </summary>
public static class FloodBenchmark
{
    /// <summary>Runs a quiet window and a flood window of <paramref name="seconds"/> each.</summary>
    public static async Task<int> RunAsync(int seconds)
    {
        using var data = new TempDirectory("hawser-flood-bench-");
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        await using var quiet = await HostileNode.EnrollAsync(controller, "quiet");
        await using var flood = await HostileNode.EnrollAsync(controller, "flood");
        // Warm up the status path once.
        await Status(controller);
        await Window("quiet", controller, seconds, null);
        await Window("flood", controller, seconds, flood);
        return 0;
    }

    private static async Task Window(string name, ControllerProcess controller, int seconds, HostileNode? flood)
    {
        var storeBefore = controller.StoreBytes;
        var (cpuBefore, _) = Usage(controller.Pid);
        var started = Stopwatch.GetTimestamp();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        long sent = 0;
        var flooding = flood is null ? Task.CompletedTask : Task.Run(async () =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await flood.SendNewFailureAsync(sent, stop.Token);
                    sent++;
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var latencies = new List<double>();
        long peakRss = 0;
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            var call = Stopwatch.GetTimestamp();
            var result = await Status(controller);
            latencies.Add(Stopwatch.GetElapsedTime(call).TotalMilliseconds);
            failures += result.ExitCode == 0 ? 0 : 1;
            peakRss = Math.Max(peakRss, Usage(controller.Pid).RssBytes);
        }
        await flooding;
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var (cpuAfter, rss) = Usage(controller.Pid);
        peakRss = Math.Max(peakRss, rss);
        latencies.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-6} {wall,5:0.0} s: controller CPU {(cpuAfter - cpuBefore) / wall * 100,5:0.0} % of a core, peak RSS {peakRss / 1048576.0,6:0.0} MiB; " +
            $"status p50 {Percentile(latencies, 0.50),6:0} ms, p99 {Percentile(latencies, 0.99),6:0} ms over {latencies.Count} calls ({failures} failed); " +
            $"node messages written {sent:N0}; store grew {(controller.StoreBytes - storeBefore) / 1024.0:N0} KiB"));
    }

    private static Task<ProcessResult> Status(ControllerProcess controller) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "status"]);

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>CPU seconds (user + system) and resident bytes of a process, from /proc.</summary>
    private static (double CpuSeconds, long RssBytes) Usage(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields 14 and 15 (utime, stime) in clock ticks of 1/100 s; the list here starts at field 3.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        var rssPages = long.Parse(fields[21], CultureInfo.InvariantCulture);
        return (ticks / 100.0, rssPages * Environment.SystemPageSize);
    }

}
