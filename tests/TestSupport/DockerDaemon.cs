namespace Hawser.TestSupport;

/// <summary>
/// Debian's dockerd, started by the test inside a network namespace with its own data-root,
/// exec-root, pidfile, socket and config file. <see cref="RestartScript"/> does what
/// <c>systemctl restart docker</c> does, so the agent's config can name it as the docker service.
/// </summary>
public sealed class DockerDaemon : IDisposable
{
    private readonly TempDirectory _dir = new("hawser-dockerd-");
    private readonly NetworkNamespace _ns;

    private DockerDaemon(NetworkNamespace ns, string configFile)
    {
        _ns = ns;
        ConfigFile = configFile;
        File.WriteAllText(ExtraFlagsFile, string.Empty);
        File.WriteAllText(RestartScript, $$"""
            #!/bin/sh
            # Stop the test's dockerd if it runs, then start it in the background.
            D={{_dir.Path}}
            if [ -f $D/dockerd.pid ] && kill -0 "$(cat $D/dockerd.pid)" 2>/dev/null; then
              pid=$(cat $D/dockerd.pid); kill "$pid"
              i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
            fi
            echo "--- start $(date +%T)" >> $D/dockerd.log
            setsid dockerd --data-root $D/data --exec-root $D/exec --pidfile $D/dockerd.pid -H unix://$D/docker.sock \
              --config-file {{configFile}} $(cat $D/extra-flags) >> $D/dockerd.log 2>&1 < /dev/null &
            """);
        File.WriteAllText(StopScript, $"#!/bin/sh\nD={_dir.Path}\npid=$(cat $D/dockerd.pid) || exit 0\nkill \"$pid\"\nwhile kill -0 \"$pid\" 2>/dev/null; do sleep 0.1; done\n");
        File.SetUnixFileMode(RestartScript, (UnixFileMode)Convert.ToInt32("755", 8));
        File.SetUnixFileMode(StopScript, (UnixFileMode)Convert.ToInt32("755", 8));
    }

    /// <summary>The Engine API socket.</summary>
    public string Socket => Path.Join(_dir.Path, "docker.sock");

    /// <summary>The daemon's config file (under the agent's root).</summary>
    public string ConfigFile { get; }

    /// <summary>The daemon's log.</summary>
    public string LogFile => Path.Join(_dir.Path, "dockerd.log");

    /// <summary>Restarts (or starts) the daemon and returns at once, like an init system.</summary>
    public string RestartScript => Path.Join(_dir.Path, "restart.sh");

    /// <summary>Stops the daemon and waits for it to exit.</summary>
    public string StopScript => Path.Join(_dir.Path, "stop.sh");

    /// <summary>Flags appended to dockerd's command line on the next start, as a unit file would.</summary>
    public string ExtraFlagsFile => Path.Join(_dir.Path, "extra-flags");

    /// <summary>The running daemon's pid.</summary>
    public string Pid => File.ReadAllText(Path.Join(_dir.Path, "dockerd.pid")).Trim();

    /// <summary>The agent.yaml lines that make the agent drive this daemon.</summary>
    public string AgentConfig => $"""
        initSystem: none
        dockerSocket: {Socket}
        dockerStartTimeoutSeconds: 30
        services:
          docker:
            restart: [{RestartScript}]
            stop: [{StopScript}]
            isActive: [sh, -c, "kill -0 $(cat {Path.Join(_dir.Path, "dockerd.pid")})"]
            logs: [tail, -n, "5", {LogFile}]

        """;

    /// <summary>Starts dockerd in <paramref name="ns"/> with <paramref name="configFile"/> and waits until it answers.</summary>
    public static async Task<DockerDaemon> StartAsync(NetworkNamespace ns, string configFile)
    {
        var daemon = new DockerDaemon(ns, configFile);
        try
        {
            await ns.ExecAsync(daemon.RestartScript);
            for (var i = 0; i < 100; i++)
            {
                if ((await daemon.TryDockerAsync("version")).ExitCode == 0)
                {
                    return daemon;
                }
                await Task.Delay(200);
            }
            throw new AssertFailedException($"dockerd did not answer on {daemon.Socket}: {File.ReadAllText(daemon.LogFile)}");
        }
        catch
        {
            daemon.Dispose();
            throw;
        }
    }

    /// <summary>Runs Debian's docker CLI against this daemon; a failure fails the test.</summary>
    public async Task<string> DockerAsync(params string[] arguments)
    {
        var result = await TryDockerAsync(arguments);
        return result.ExitCode == 0 ? result.StandardOutput.Trim() : throw new AssertFailedException($"docker {string.Join(' ', arguments)}: {result.Output}");
    }

    /// <summary>Runs Debian's docker CLI against this daemon.</summary>
    public Task<ProcessResult> TryDockerAsync(params string[] arguments) =>
        ExternalProcess.RunAsync("/usr/bin/docker", ["-H", $"unix://{Socket}", .. arguments], TimeSpan.FromSeconds(120));

    /// <summary>Imports busybox-static as <c>hawser-test/busybox</c>, an image with no registry needed.</summary>
    public async Task ImportBusyboxAsync()
    {
        var image = Path.Join(_dir.Path, "image");
        Directory.CreateDirectory(Path.Join(image, "bin"));
        Directory.CreateDirectory(Path.Join(image, "tmp"));
        File.Copy("/bin/busybox", Path.Join(image, "bin", "busybox"));
        File.CreateSymbolicLink(Path.Join(image, "bin", "sh"), "busybox");
        var tar = Path.Join(_dir.Path, "busybox.tar");
        var packed = await ExternalProcess.RunAsync("tar", ["-C", image, "-cf", tar, "."]);
        Assert.AreEqual(0, packed.ExitCode, packed.Output);
        await DockerAsync("import", tar, "hawser-test/busybox:latest");
    }

    /// <summary>Stops the daemon, unmounts what it left and removes its directories.</summary>
    public void Dispose()
    {
        _ns.TryExecAsync(StopScript).GetAwaiter().GetResult();
        var mounts = File.ReadAllLines("/proc/mounts").Select(l => l.Split(' ')[1]).Where(m => m.StartsWith(_dir.Path, StringComparison.Ordinal)).Reverse();
        foreach (var mount in mounts)
        {
            ExternalProcess.RunAsync("umount", ["-l", mount]).GetAwaiter().GetResult();
        }
        _dir.Dispose();
    }
}
