using System.Globalization;

namespace Hawser.TestSupport;

/// <summary>
/// A real systemd (Debian's, as PID 1 of a PID namespace of its own) over a private mount namespace: a copy of /etc, and
/// fresh /run, /tmp, /var/tmp, /var/log, /var/lib and /usr/local/bin, so nothing it starts writes the machine's own files.
/// It boots a target of its own that starts nothing, with the sysinit units masked (systemd-tmpfiles would empty the
/// machine's /tmp, systemd-sysctl and systemd-binfmt would change the machine's kernel), so only what a test starts runs.
/// The network is the machine's. <see cref="Share"/> is the host directory seen inside at /run/share. Killing systemd on
/// dispose ends every process of the namespace.
/// </summary>
public sealed class SystemdHost : IDisposable
{
    private readonly TempDirectory _work = new("hawser-systemd-host-");
    private int _pid;

    private SystemdHost()
    {
    }

    /// <summary>A directory of the test's, seen inside as <c>/run/share</c>.</summary>
    public string Share => Path.Combine(_work.Path, "share");

    /// <summary>The copy of /etc the host sees as its /etc (write a file here before starting a service).</summary>
    public string Etc => Path.Combine(_work.Path, "etc");

    /// <summary>Copies /etc, masks the sysinit units and boots systemd; returns once it says it is running.</summary>
    public static async Task<SystemdHost> BootAsync()
    {
        var host = new SystemdHost();
        try
        {
            await host.BootCoreAsync();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    private async Task BootCoreAsync()
    {
        Directory.CreateDirectory(Share);
        var copy = await ExternalProcess.RunAsync("cp", ["-a", "/etc", Etc]);
        Assert.AreEqual(0, copy.ExitCode, copy.Output);
        var units = Path.Combine(Etc, "systemd", "system");
        Directory.CreateDirectory(units);
        File.WriteAllText(Path.Combine(units, "hawser-test.target"), "[Unit]\nDescription=A hawser test's host: nothing but what the test starts\n");
        // Every service depends on these by default; empty, they pull in nothing.
        File.WriteAllText(Path.Combine(units, "sysinit.target"), "[Unit]\nDescription=System Initialization (none in a hawser test)\n");
        File.WriteAllText(Path.Combine(units, "basic.target"), "[Unit]\nDescription=Basic System (none in a hawser test)\n");
        foreach (var wanted in new[] { "/lib/systemd/system/sysinit.target.wants", Path.Combine(units, "sysinit.target.wants") }
            .Where(Directory.Exists).SelectMany(Directory.EnumerateFileSystemEntries).Select(Path.GetFileName).Distinct())
        {
            // journald stays: the services' output goes to it (in this host's /run).
            if (wanted is not "systemd-journald.service")
            {
                var mask = Path.Combine(units, wanted!);
                File.Delete(mask);
                File.CreateSymbolicLink(mask, "/dev/null");
            }
        }
        var boot = Path.Combine(_work.Path, "boot.sh");
        File.WriteAllText(boot, string.Join('\n',
            "set -e",
            "mount --make-rprivate /",
            "mount -t tmpfs tmpfs /run",
            $"mkdir /run/share && mount --bind {Share} /run/share",
            $"mount --bind {Etc} /etc",
            "for d in /tmp /var/tmp /var/log /var/lib /usr/local/bin; do mount -t tmpfs tmpfs $d; done",
            "export container=hawser-test",
            "exec /lib/systemd/systemd --system --unit=hawser-test.target") + "\n");
        var unshare = ExternalProcess.Start("unshare", ["--pid", "--fork", "--mount", "--mount-proc", "--uts", "sh", boot]);
        // systemd is unshare's one child.
        var found = await Poll.UntilAsync(() =>
        {
            var children = Path.Combine("/proc", unshare.Id.ToString(CultureInfo.InvariantCulture), "task", unshare.Id.ToString(CultureInfo.InvariantCulture), "children");
            _pid = File.Exists(children) && File.ReadAllText(children).Trim() is { Length: > 0 } text ? int.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture) : 0;
            return Task.FromResult(_pid > 0 && File.ReadAllText($"/proc/{_pid}/cmdline").StartsWith("/lib/systemd/systemd", StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(30));
        Assert.IsTrue(found, "systemd did not start in its namespace");
        var running = await Poll.UntilAsync(async () => (await RunAsync("systemctl is-system-running", TimeSpan.FromSeconds(10))).StandardOutput.Trim() is "running" or "degraded",
            TimeSpan.FromSeconds(60));
        Assert.IsTrue(running, "systemd did not finish booting: " + (await RunAsync("systemctl --failed --no-pager", TimeSpan.FromSeconds(10))).Output);
    }

    /// <summary>Runs a shell line inside (the host's mounts and PID namespace, so systemctl talks to this systemd).</summary>
    public Task<ProcessResult> RunAsync(string shell, TimeSpan? timeout = null) =>
        ExternalProcess.RunAsync("nsenter", ["-t", _pid.ToString(CultureInfo.InvariantCulture), "-m", "-p", "sh", "-c", shell], timeout ?? TimeSpan.FromMinutes(2));

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_pid > 0)
        {
            // SIGKILL of a PID namespace's init kills every process in it; its mounts go with the last of them.
            try
            {
                System.Diagnostics.Process.GetProcessById(_pid).Kill();
            }
            catch (ArgumentException)
            {
            }
            catch (InvalidOperationException)
            {
            }
        }
        _work.Dispose();
    }
}
