using Hawser.Agent.Docker;
using Hawser.Agent.HostServices;
using Hawser.Agent.State;
using Hawser.Shared.HostAccess;
using Hawser.Shared.IO;

namespace Hawser.Agent.Reconcile;

/// <summary>The host seams and the state every resource works with during one converge.</summary>
public sealed class ResourceContext(HostPaths paths, WritableArea area, ICommandRunner runner, ServiceManager services, AgentState state,
    Func<DockerEngineClient> docker)
{
    private DockerEngineClient? _docker;

    /// <summary>Where host files and /proc/sys are.</summary>
    public HostPaths Paths { get; } = paths;

    /// <summary>Ids of the resources that failed or were skipped so far in this converge (a later resource may leave out what they did not set).</summary>
    public HashSet<string> Failed { get; } = new(StringComparer.Ordinal);

    /// <summary>What each certificate's servers served when last checked in this converge, by certificate and address.</summary>
    public Dictionary<(string Certificate, string Target), Kinds.Certificates.ServedCertificate> Served { get; } = [];

    /// <summary>Where writes may go, checked on the real file system.</summary>
    public WritableArea Area { get; } = area;

    /// <summary>Runs host programs.</summary>
    public ICommandRunner Runner { get; } = runner;

    /// <summary>Restarts and checks services.</summary>
    public ServiceManager Services { get; } = services;

    /// <summary>What the agent changed before, and records what it changes now.</summary>
    public AgentState State { get; } = state;

    /// <summary>The Engine API client, connected on first use.</summary>
    public DockerEngineClient Docker => _docker ??= docker();

    private byte[] _saved = state.ToBytes();

    /// <summary>
    /// Saves the state now, when it differs from what was last saved: the write-ahead step before a
    /// change whose undo record a crash (SIGKILL, a full disk) must not lose. If the save fails, the
    /// change is not made.
    /// </summary>
    public void SaveState()
    {
        var bytes = State.ToBytes();
        if (bytes.AsSpan().SequenceEqual(_saved))
        {
            return;
        }
        State.Save(Paths);
        _saved = bytes;
        SavedDuringRun = true;
    }

    /// <summary>True once a resource saved the state mid-run; the file then no longer matches what the run started from.</summary>
    public bool SavedDuringRun { get; private set; }

    /// <summary>Reads a host file; null when it does not exist.</summary>
    public byte[]? ReadFile(string hostPath)
    {
        var path = Area.ForRead(hostPath);
        return File.Exists(path) ? File.ReadAllBytes(path) : null;
    }

    /// <summary>
    /// Writes a config file atomically, first remembering what it replaces for undo. A new file is
    /// 0644; an existing one keeps its mode, which is the host's, not the agent's.
    /// </summary>
    public void WriteFile(string hostPath, string owner, byte[] content)
    {
        var path = Area.ForWrite(hostPath);
        RememberFile(hostPath, owner);
        AtomicFile.Write(path, content, AtomicFile.ModeOr(path, Resources.FileModes.PublicFile), noSymlinks: true);
    }

    /// <summary>
    /// Records a host file's bytes and mode (or, for a symbolic link, where it points) for undo, unless
    /// already recorded, and saves the record before the caller changes the file: a crash right after
    /// the change still leaves what is needed to put it back.
    /// </summary>
    public void RememberFile(string hostPath, string owner)
    {
        if (State.Files.ContainsKey(hostPath))
        {
            return;
        }
        var path = Area.ForRead(hostPath);
        var link = AtomicFile.Stat(path)?.Kind == FileKind.SymbolicLink ? new FileInfo(path).LinkTarget : null;
        State.RememberFile(hostPath, owner, link is null ? ReadFile(hostPath) : null, link is null && File.Exists(path) ? File.GetUnixFileMode(path) : null, link);
        SaveState();
    }
}
