using System.Diagnostics;

namespace Hawser.TestSupport;

/// <summary>
/// Timing kills of a short-lived process without fixed sleeps: wait until the runtime has loaded the
/// program's assembly (read from /proc), measure how long one whole run lasts from there, and kill
/// at random points within that span.
/// </summary>
public static class KillWindow
{
    /// <summary>Waits until <paramref name="process"/> has mapped an assembly whose path contains <paramref name="assembly"/> (or has exited).</summary>
    public static async Task WaitUntilLoadedAsync(Process process, string assembly)
    {
        var maps = $"/proc/{process.Id}/maps";
        await Poll.UntilAsync(() =>
        {
            try
            {
                return process.HasExited || File.ReadAllText(maps).Contains(assembly, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return true; // gone already
            }
        }, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(5));
    }

    /// <summary>How long a run started by <paramref name="start"/> lasts from loading <paramref name="assembly"/> to its exit, in ms (at least 50).</summary>
    public static async Task<int> MeasureAsync(Func<Process> start, string assembly)
    {
        using var process = start();
        await WaitUntilLoadedAsync(process, assembly);
        var timer = Stopwatch.StartNew();
        await process.WaitForExitAsync();
        return (int)Math.Max(50, timer.ElapsedMilliseconds);
    }

    /// <summary>
    /// Waits until <paramref name="process"/> rewrites <paramref name="path"/> (its write time moves past
    /// <paramref name="before"/>) or exits: a kill just after lands inside the step the write opens. Polled every
    /// millisecond, as the window can be that short.
    /// </summary>
    public static async Task WaitForWriteAsync(Process process, string path, DateTime before)
    {
        await Poll.UntilAsync(() => process.HasExited || File.GetLastWriteTimeUtc(path) != before, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(1));
    }
}
