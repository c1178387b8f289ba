using System.Collections.Concurrent;
using Hawser.Shared.HostAccess;
using Hawser.Shared.IO;

namespace Hawser.Agent.State;

/// <summary>
/// The agent's own directory, <c>/var/lib/hawser</c> under --root: its state, journal, identity, lock and the desired
/// state. Where it really is gets resolved once per process (an operator's <c>/var/lib</c> may be a link; one leading
/// outside --root is refused); every write, rename and removal below it is then made without following a link, so one
/// swapped in later is refused.
/// </summary>
public static class AgentDirectory
{
    /// <summary>The directory's host path.</summary>
    public const string HostPath = "/var/lib/hawser";

    /// <summary>Owner read and write only: the directory holds keys and the bytes of replaced files.</summary>
    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static readonly ConcurrentDictionary<string, string> Resolved = new(StringComparer.Ordinal);

    /// <summary>Where <paramref name="hostPath"/> (below <see cref="HostPath"/>) is on disk, the directory made if missing.</summary>
    public static string PathOf(HostPaths paths, string hostPath)
    {
        if (!RealPath.IsBeneath(hostPath, HostPath))
        {
            throw new ArgumentException($"{hostPath} is not in {HostPath}", nameof(hostPath));
        }
        var directory = Resolved.GetOrAdd(paths.Map(HostPath), static (mapped, paths) =>
        {
            Directory.CreateDirectory(mapped);
            return paths.Resolve(HostPath) ?? throw new IOException($"cannot resolve {mapped}: a link in it leads nowhere");
        }, paths);
        return directory + hostPath[HostPath.Length..];
    }

    /// <summary>Replaces the file at <paramref name="hostPath"/> atomically.</summary>
    public static void Write(HostPaths paths, string hostPath, ReadOnlySpan<byte> content, UnixFileMode mode = Private) =>
        AtomicFile.Write(PathOf(paths, hostPath), content, mode, noSymlinks: true);

    /// <summary>Renames one file to another, replacing it.</summary>
    public static void Rename(HostPaths paths, string fromHostPath, string toHostPath) =>
        AtomicFile.Rename(PathOf(paths, fromHostPath), PathOf(paths, toHostPath), noSymlinks: true);

    /// <summary>Removes a file if present.</summary>
    public static void Delete(HostPaths paths, string hostPath) => AtomicFile.Delete(PathOf(paths, hostPath), noSymlinks: true);

    /// <summary>Removes a directory and everything in it, if present.</summary>
    public static void DeleteTree(HostPaths paths, string hostPath) => AtomicFile.DeleteTree(PathOf(paths, hostPath), noSymlinks: true);
}
