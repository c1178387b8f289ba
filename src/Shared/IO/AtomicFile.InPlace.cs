using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Hawser.Shared.IO;

/// <summary>
/// The rest of the agent's file operations, made like <see cref="AtomicFile.Write"/>: relative to a directory descriptor
/// reached without following a link when <c>noSymlinks</c> is set, so a link swapped in is refused, never followed.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>Renames <paramref name="from"/> to <paramref name="to"/> (replacing a regular file there) and makes it durable.</summary>
    public static void Rename(string from, string to, bool noSymlinks = false)
    {
        using var source = DirectoryHandle.Open(Path.GetDirectoryName(from)!, noSymlinks, create: false);
        using var target = DirectoryHandle.Open(Path.GetDirectoryName(to)!, noSymlinks, create: true);
        if (source.Fd < 0)
        {
            throw new FileNotFoundException($"could not rename {from}: its directory does not exist", from);
        }
        if (target.Stat(Path.GetFileName(to)) is { Kind: not FileKind.Regular } existing)
        {
            throw new IOException($"refusing to rename {from} over {to}: it is {Describe(existing.Kind)}, not a regular file");
        }
        Check(RenameAt(source.Fd, Path.GetFileName(from), target.Fd, Path.GetFileName(to)), $"rename {from} to", to);
        _ = FSync(target.Fd);
        _ = FSync(source.Fd);
    }

    /// <summary>
    /// Removes <paramref name="path"/>, if present, and when it is a directory everything in it. Entries are listed and
    /// removed through descriptors, and a symbolic link (there or inside) is removed itself, never followed.
    /// </summary>
    public static void DeleteTree(string path, bool noSymlinks = false)
    {
        using var parent = DirectoryHandle.Open(Path.GetDirectoryName(path)!, noSymlinks, create: false);
        var name = Path.GetFileName(path);
        if (parent.Fd < 0 || parent.Stat(name) is not { } metadata)
        {
            return;
        }
        if (metadata.Kind == FileKind.Directory)
        {
            RemoveEntries(parent.Fd, name, path);
        }
        else
        {
            Check(UnlinkAt(parent.Fd, name, 0), "remove", path);
        }
        _ = FSync(parent.Fd);
    }

    private static void RemoveEntries(int parentFd, string name, string path)
    {
        var fd = OpenAt(parentFd, name, ODirectory | OReadOnly | ONoFollow | OCloseOnExec, 0);
        if (fd < 0)
        {
            throw Failure("open directory", path);
        }
        try
        {
            // Listed through the descriptor (/proc/self/fd): the names are those of the directory that was opened.
            foreach (var entry in Directory.EnumerateFileSystemEntries($"/proc/self/fd/{fd}").ToList())
            {
                var child = Path.GetFileName(entry);
                if (Stat(fd, child, Path.Join(path, child))?.Kind == FileKind.Directory)
                {
                    RemoveEntries(fd, child, Path.Join(path, child));
                }
                else
                {
                    Check(UnlinkAt(fd, child, 0), "remove", Path.Join(path, child));
                }
            }
        }
        finally
        {
            _ = Close(fd);
        }
        Check(UnlinkAt(parentFd, name, AtRemoveDir), "remove directory", path);
    }

    /// <summary>
    /// Overwrites existing <paramref name="path"/> in place, without a temp file: for kernel parameters under
    /// <c>/proc/sys</c>, which cannot be renamed over. A symbolic link at <paramref name="path"/> is refused.
    /// </summary>
    public static void WriteInPlace(string path, ReadOnlySpan<byte> content, bool noSymlinks = false)
    {
        using var directory = DirectoryHandle.Open(Path.GetDirectoryName(path)!, noSymlinks, create: false);
        var fd = directory.Fd < 0 ? -1 : OpenAt(directory.Fd, Path.GetFileName(path), OWriteOnly | OTruncate | ONoFollow | OCloseOnExec, 0);
        if (fd < 0)
        {
            throw directory.Fd < 0 ? new IOException($"could not open {path}: {Marshal.GetPInvokeErrorMessage(2)}") : Failure("open", path);
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        RandomAccess.Write(handle, content, 0);
    }

    /// <summary>
    /// Takes an exclusive lock on <paramref name="path"/> (made 0600 if missing; a link there is refused): the lock goes
    /// with the returned handle, and with the process, also on kill -9. Null when another process holds it.
    /// </summary>
    public static SafeFileHandle? TryLock(string path, bool noSymlinks = false)
    {
        using var directory = DirectoryHandle.Open(Path.GetDirectoryName(path)!, noSymlinks, create: true);
        var fd = OpenAt(directory.Fd, Path.GetFileName(path), OReadWrite | OCreate | ONoFollow | OCloseOnExec, 0b110_000_000);
        if (fd < 0)
        {
            throw Failure("open", path);
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (Flock(fd, LockExclusive | LockNonBlocking) == 0)
        {
            return handle;
        }
        var errno = Marshal.GetLastPInvokeError();
        handle.Dispose();
        return errno == 11 /* EWOULDBLOCK */ ? null : throw new IOException($"could not lock {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    private const int OReadWrite = 2, OTruncate = 0x200, AtRemoveDir = 0x200, LockExclusive = 2, LockNonBlocking = 4;

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);
}
