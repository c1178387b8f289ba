namespace Hawser.Shared.HostAccess;

/// <summary>
/// Where the host's files are: every host path (<c>/etc/...</c>, <c>/var/lib/hawser</c>) lives under
/// <see cref="Root"/>, kernel parameters under <see cref="ProcSys"/>. Tests point both at their own.
/// </summary>
public sealed record HostPaths(string Root, string ProcSys)
{
    /// <summary>The on-disk location of absolute host path <paramref name="hostPath"/>.</summary>
    public string Map(string hostPath)
    {
        if (!hostPath.StartsWith('/'))
        {
            throw new ArgumentException($"host path '{hostPath}' is not absolute", nameof(hostPath));
        }
        return Root == "/" ? hostPath : Path.Join(Root, hostPath);
    }

    /// <summary>
    /// Where existing host path <paramref name="hostPath"/> really is, every link in it followed; null when it does
    /// not exist. A link that leads outside <see cref="Root"/> is refused (<see cref="IOException"/>, naming both).
    /// </summary>
    public string? Resolve(string hostPath)
    {
        var mapped = Map(hostPath);
        if (IO.RealPath.Of(mapped) is not { } real)
        {
            return null;
        }
        var root = IO.RealPath.Of(Root) ?? throw new IOException($"--root {Root} does not exist");
        return IO.RealPath.IsBeneath(real, root) ? real
            : throw new IOException($"refusing to write in {hostPath}: it leads to {real}, outside --root {Root}; nothing was written");
    }

    /// <summary>The /proc/sys file of dotted sysctl <paramref name="key"/>.</summary>
    public string SysctlFile(string key) => Path.Join(ProcSys, key.Replace('.', '/'));

    /// <summary>The agent's state file.</summary>
    public string StateFile => Map("/var/lib/hawser/state.json");
}
