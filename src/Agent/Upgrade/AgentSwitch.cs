using System.Diagnostics;
using Hawser.Agent.Output;
using Hawser.Agent.Reconcile;
using Hawser.Shared.HostAccess;
using Microsoft.Extensions.Logging;

namespace Hawser.Agent.Upgrade;

/// <summary>Pauses the agent's stream to the controller while a trial binary holds the node's identity.</summary>
public interface IStreamPause
{
    /// <summary>Ends the stream now and keeps it closed until the returned handle is disposed.</summary>
    IDisposable Pause();
}

/// <summary>
/// Switches the running agent binary to a verified release. Beside the binary it was started from (<c>CURRENT</c>) it writes
/// <c>CURRENT.next</c>, starts that in trial mode with the same arguments (the stream paused meanwhile), and waits until it has
/// connected to the controller and reported a converge; only then is the old binary kept as <c>CURRENT.previous</c>, the new one
/// renamed over <c>CURRENT</c> (one rename: at every moment CURRENT is one whole binary) and this process replaced by it
/// (execv, the same process id, so systemd, OpenRC and a plain parent keep it). A trial that exits or does not report within
/// <see cref="TrialTimeout"/> leaves CURRENT as it was and says why; the failure is kept so the same version is not tried in a loop.
/// After a switch, <see cref="RecordStart"/> counts starts: a crash loop puts CURRENT.previous back.
/// </summary>
public sealed class AgentSwitch(string current, string stateDirectory, IReadOnlyList<string> arguments, IStreamPause stream, ILogger log, Action flushLogs)
{
    /// <summary>The environment variable that puts an agent in trial mode: the file it creates once it has connected and reported.</summary>
    public const string TrialVariable = "HAWSER_AGENT_TRIAL";

    /// <summary>The environment variable naming the agent that started a trial: the trial stops when that process is gone.</summary>
    public const string TrialParentVariable = "HAWSER_AGENT_TRIAL_PARENT";

    /// <summary>How long a trial has to connect and report.</summary>
    public static readonly TimeSpan TrialTimeout = TimeSpan.FromSeconds(90);

    /// <summary>Starts within <see cref="CrashLoopWindow"/> of a switch that count as a crash loop.</summary>
    public const int CrashLoopStarts = 3;

    /// <summary>How long after a switch starts are counted.</summary>
    public static readonly TimeSpan CrashLoopWindow = TimeSpan.FromMinutes(10);

    /// <summary>How long a failed switch to a version keeps that version from being tried again.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromHours(1);

    /// <summary>
    /// The Debian package that installed the binary this agent runs from (dpkg lists it among its files), or null. Such a
    /// binary is the package manager's to replace: switching it would leave dpkg's record of the package wrong.
    /// </summary>
    public string? Package { get; } = OwningPackage(current, "/var/lib/dpkg/info");

    /// <summary>The hawser-agent package (of any architecture) whose dpkg file list in <paramref name="dpkgInfo"/> names <paramref name="binary"/>, or null.</summary>
    public static string? OwningPackage(string binary, string dpkgInfo)
    {
        if (!Directory.Exists(dpkgInfo))
        {
            return null;
        }
        foreach (var list in Directory.EnumerateFiles(dpkgInfo, "hawser-agent*.list"))
        {
            var name = Path.GetFileNameWithoutExtension(list);
            if ((name == "hawser-agent" || name.StartsWith("hawser-agent:", StringComparison.Ordinal)) && File.ReadLines(list).Contains(binary, StringComparer.Ordinal))
            {
                return name;
            }
        }
        return null;
    }

    private string Next => current + ".next";

    private string Previous => current + ".previous";

    /// <summary>Where the switch is remembered.</summary>
    public static string RecordPath(string stateDirectory) => Path.Combine(stateDirectory, "upgrade");

    /// <summary>The native binary this agent runs from, or null when it runs on dotnet (a development build, which does not switch).</summary>
    public static string? NativeBinary() =>
        Environment.ProcessPath is { } path && !Path.GetFileName(path).StartsWith("dotnet", StringComparison.Ordinal) ? path : null;

    /// <summary>The failure kept for a switch to <paramref name="version"/> within <see cref="RetryAfter"/>, and when it may be tried again; or null.</summary>
    public (string Failure, DateTimeOffset RetryAt)? FailureFor(string version) =>
        UpgradeRecord.Load(RecordPath(stateDirectory)) is { Failure: { } failure } record && record.To == version && DateTimeOffset.UtcNow - record.At < RetryAfter
            ? (failure, record.At + RetryAfter) : null;

    /// <summary>Runs the trial and switches; returns only by throwing <see cref="ResourceException"/>.</summary>
    public async Task SwitchAsync(StagedRelease staged, CancellationToken cancellationToken)
    {
        Copy(staged.Path, Next);
        // Paused until this process is the new binary (or the trial failed): the old one never reconnects in between.
        using var paused = stream.Pause();
        AgentLog.TrialStarting(log, staged.Version, Next);
        if (await TrialAsync(staged.Version, cancellationToken) is { } failure)
        {
            File.Delete(Next);
            var record = new UpgradeRecord(AgentBuild.Version, staged.Version, DateTimeOffset.UtcNow, [], $"the trial start failed: {failure}");
            record.Save(RecordPath(stateDirectory));
            throw new ResourceException($"agent {staged.Version}: {record.Failure}; still running {AgentBuild.Version}");
        }
        // The old binary first (a copy, renamed into place), the record of the switch (so a crash loop of the new binary is
        // counted even when this process is killed right after the rename), then the new one over CURRENT in one rename.
        Copy(current, Previous);
        new UpgradeRecord(AgentBuild.Version, staged.Version, DateTimeOffset.UtcNow, [], null).Save(RecordPath(stateDirectory));
        File.Move(Next, current, overwrite: true);
        AgentLog.Switched(log, AgentBuild.Version, staged.Version, current);
        Become(current);
    }

    /// <summary>Replaces this process with <paramref name="binary"/>, the log written out first (it is written from a queue).</summary>
    private void Become(string binary)
    {
        flushLogs();
        NativeExec.Replace(binary, arguments);
    }

    /// <summary>
    /// Called at every start outside trial mode: within <see cref="CrashLoopWindow"/> of a switch to this version, counts the start,
    /// and at <see cref="CrashLoopStarts"/> puts the previous binary back (and becomes it).
    /// </summary>
    public void RecordStart()
    {
        var path = RecordPath(stateDirectory);
        if (UpgradeRecord.Load(path) is not { Failure: null } record || record.To != AgentBuild.Version || DateTimeOffset.UtcNow - record.At > CrashLoopWindow)
        {
            return;
        }
        var starts = record.Starts.Append(DateTimeOffset.UtcNow).ToList();
        if (starts.Count < CrashLoopStarts || !File.Exists(Previous))
        {
            (record with { Starts = starts }).Save(path);
            return;
        }
        var failure = $"it started {starts.Count} times within {CrashLoopWindow.TotalMinutes:0} minutes of the switch (a crash loop); {record.From} is back";
        Copy(Previous, current);
        (record with { Starts = starts, Failure = failure }).Save(path);
        AgentLog.RolledBack(log, record.To, record.From, failure);
        Become(current);
    }

    private async Task<string?> TrialAsync(string version, CancellationToken cancellationToken)
    {
        var marker = Path.Combine(stateDirectory, "trial-ok");
        File.Delete(marker);
        var info = new ProcessStartInfo(Next) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment[TrialVariable] = marker;
        info.Environment[TrialParentVariable] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // The service manager talks to this process only.
        foreach (var variable in new[] { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID" })
        {
            info.Environment.Remove(variable);
        }
        var last = new Queue<string>();
        void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }
            AgentLog.TrialOutput(log, line);
            lock (last)
            {
                last.Enqueue(line);
                while (last.Count > 5)
                {
                    last.Dequeue();
                }
            }
        }
        string Said()
        {
            lock (last)
            {
                return last.Count == 0 ? "it printed nothing" : "it printed: " + string.Join(" | ", last);
            }
        }
        Process child;
        try
        {
            child = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"the new binary does not start ({ex.Message})";
        }
        using (child)
        {
            child.OutputDataReceived += (_, e) => Keep(e.Data);
            child.ErrorDataReceived += (_, e) => Keep(e.Data);
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            var deadline = DateTime.UtcNow + TrialTimeout;
            try
            {
                while (!File.Exists(marker))
                {
                    if (child.HasExited)
                    {
                        await child.WaitForExitAsync(cancellationToken);
                        return $"the new binary exited {child.ExitCode} before it connected and reported ({Said()})";
                    }
                    if (DateTime.UtcNow > deadline)
                    {
                        return $"the new binary did not connect and report within {TrialTimeout.TotalSeconds:0} s ({Said()})";
                    }
                    await Task.Delay(200, cancellationToken);
                }
                // The trial writes its own version: a release must be the binary its manifest says it is.
                var says = (await File.ReadAllTextAsync(marker, cancellationToken)).Trim();
                return says == version ? null : $"the new binary says it is {says}, not {version}";
            }
            finally
            {
                await StopAsync(child);
                File.Delete(marker);
            }
        }
    }

    private static async Task StopAsync(Process child)
    {
        if (child.HasExited)
        {
            return;
        }
        NativeExec.Terminate(child.Id);
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await child.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync(CancellationToken.None);
        }
    }

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/> executable, written whole and synced, then renamed into place.</summary>
    private static void Copy(string from, string to)
    {
        var temporary = to + ".tmp";
        using (var source = File.OpenRead(from))
        using (var target = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            source.CopyTo(target);
            target.Flush(flushToDisk: true);
        }
        File.SetUnixFileMode(temporary, Shared.Releases.ReleaseManifest.ExecutableMode);
        File.Move(temporary, to, overwrite: true);
    }
}
