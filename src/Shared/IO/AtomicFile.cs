using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Hawser.Shared.IO;

/// <summary>
/// Writes files so that a reader, or the host after a crash, sees either the old content or the new,
/// never a mix: temp file in the same directory, fsync, rename over the target, fsync the directory.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>Replaces <paramref name="path"/> with <paramref name="content"/>, created with <paramref name="mode"/> and the given owner.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content, UnixFileMode mode, int uid = -1, int gid = -1)
    {
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        var temp = TempName(path);
        try
        {
            using (var stream = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = mode,
            }))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }
            // The umask may have narrowed the create mode.
            File.SetUnixFileMode(temp, mode);
            if (uid >= 0 || gid >= 0)
            {
                Chown(temp, uid, gid);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        SyncDirectory(directory);
    }

    /// <summary>The mode of the file at <paramref name="path"/>, or <paramref name="fallback"/> when there is none.</summary>
    public static UnixFileMode ModeOr(string path, UnixFileMode fallback) => File.Exists(path) ? File.GetUnixFileMode(path) : fallback;

    /// <summary>Points symlink <paramref name="path"/> at <paramref name="target"/>, replacing whatever is there in one rename.</summary>
    public static void ReplaceSymlink(string path, string target)
    {
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        var temp = TempName(path);
        File.CreateSymbolicLink(temp, target);
        if (Rename(temp, path) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            File.Delete(temp);
            throw new IOException($"could not rename {temp} to {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        SyncDirectory(directory);
    }

    /// <summary>Removes <paramref name="path"/> if present and makes the removal durable.</summary>
    public static void Delete(string path)
    {
        if (File.Exists(path) || new FileInfo(path).LinkTarget is not null)
        {
            File.Delete(path);
            SyncDirectory(Path.GetDirectoryName(path)!);
        }
    }

    /// <summary>Changes a file's owner; -1 leaves that id alone.</summary>
    public static void Chown(string path, int uid, int gid)
    {
        if (LChown(path, uid, gid) != 0)
        {
            throw new IOException($"could not chown {path} to {uid}:{gid}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>The owner and group of <paramref name="path"/>, not following a final symlink.</summary>
    public static (int Uid, int Gid) Owner(string path)
    {
        var buffer = new byte[256];
        // struct stat on x86_64 and arm64 glibc: st_uid at 28 and st_gid at 32 (x86_64), 24/28 (arm64).
        if (LStat(path, buffer) != 0)
        {
            throw new IOException($"could not stat {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        var offset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 28 : 24;
        return (BitConverter.ToInt32(buffer, offset), BitConverter.ToInt32(buffer, offset + 4));
    }

    private static string TempName(string path) =>
        Path.Join(Path.GetDirectoryName(path), $".{Path.GetFileName(path)}.hawser-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}");

    /// <summary>fsync on the directory makes the rename itself survive a power loss.</summary>
    private static void SyncDirectory(string directory)
    {
        var fd = Open(directory, 0x10000 /* O_DIRECTORY */ | 0 /* O_RDONLY */);
        if (fd < 0)
        {
            return;
        }
        _ = FSync(fd);
        _ = Close(fd);
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Rename(string from, string to);

    [LibraryImport("libc", EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LChown(string path, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LStat(string path, byte[] buffer);
}
