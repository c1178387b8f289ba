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

    /// <summary>The /proc/sys file of dotted sysctl <paramref name="key"/>.</summary>
    public string SysctlFile(string key) => Path.Join(ProcSys, key.Replace('.', '/'));

    /// <summary>The agent's state file.</summary>
    public string StateFile => Map("/var/lib/hawser/state.json");
}
