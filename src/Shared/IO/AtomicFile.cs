using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Hawser.Shared.IO;

/// <summary>
/// Writes files so that a reader, or the host after a crash, sees either the old content or the new,
/// never a mix: temp file in the same directory, fsync, rename over the target, fsync the directory.
/// Only a regular file (or nothing) is replaced: a directory, a device, a FIFO or a socket at the
/// target is refused, and so is a symbolic link unless the caller made it and says so.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="content"/>, created with <paramref name="mode"/> and the given owner.
    /// <paramref name="replaceSymlink"/> lets a symbolic link at <paramref name="path"/> be replaced (never followed):
    /// only for links the caller itself made.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<byte> content, UnixFileMode mode, int uid = -1, int gid = -1, bool replaceSymlink = false)
    {
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        if (Stat(path) is { } existing && existing.Kind != FileKind.Regular && !(replaceSymlink && existing.Kind == FileKind.SymbolicLink))
        {
            throw new IOException($"refusing to write {path}: it is {Describe(existing.Kind)}, not a regular file");
        }
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
        var metadata = Stat(path) ?? throw new IOException($"could not stat {path}: {Marshal.GetPInvokeErrorMessage(2 /* ENOENT */)}");
        return ((int)metadata.Uid, (int)metadata.Gid);
    }

    /// <summary>What is at <paramref name="path"/> itself (a final symlink is not followed), or null when nothing is.</summary>
    public static FileMetadata? Stat(string path)
    {
        // statx: one struct layout on every architecture, unlike struct stat.
        if (StatX(AtFdCwd, path, AtSymlinkNoFollow, StatxType | StatxMode | StatxUid | StatxGid, out var buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is 2 /* ENOENT */ or 20 /* ENOTDIR */ ? null
                : throw new IOException($"could not stat {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        var kind = (buffer.Mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.SymbolicLink,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0x1000 => FileKind.Fifo,
            _ => FileKind.Socket,
        };
        return new FileMetadata(kind, (UnixFileMode)(buffer.Mode & 0xFFF), buffer.Uid, buffer.Gid);
    }

    private static string Describe(FileKind kind) => kind switch
    {
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Directory => "a directory",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Fifo => "a FIFO",
        _ => "a socket",
    };

    /// <summary>
    /// Removes the temp files a killed writer left in <paramref name="directory"/> (<c>.NAME.hawser-HEX</c>,
    /// which can hold private keys) and returns their paths. Only for a directory whose writers are not running.
    /// </summary>
    public static IReadOnlyList<string> RemoveStaleTemporaries(string directory)
    {
        if (Stat(directory)?.Kind != FileKind.Directory)
        {
            return [];
        }
        var removed = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory, ".*.hawser-*"))
        {
            if (TempPattern().IsMatch(Path.GetFileName(entry)) && Stat(entry)?.Kind is FileKind.Regular or FileKind.SymbolicLink)
            {
                File.Delete(entry);
                removed.Add(entry);
            }
        }
        if (removed.Count > 0)
        {
            SyncDirectory(directory);
        }
        return removed;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\..+\.hawser-[0-9a-f]{12}$")]
    private static partial System.Text.RegularExpressions.Regex TempPattern();

    private static string TempName(string path) =>
        Path.Join(Path.GetDirectoryName(path), $".{Path.GetFileName(path)}.hawser-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}");

    /// <summary>fsync on the directory makes the rename itself survive a power loss.</summary>
    private static void SyncDirectory(string directory)
    {
        // O_DIRECTORY | O_RDONLY; the flag's value differs between x86_64 and the ARM ABIs.
        var fd = Open(directory, RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86 ? 0x10000 : 0x4000);
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

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxMode = 0x2;
    private const uint StatxUid = 0x8;
    private const uint StatxGid = 0x10;

    /// <summary>The head of <c>struct statx</c> (linux/stat.h): the same offsets on every architecture; 256 bytes in all.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(20)]
        public uint Uid;

        [FieldOffset(24)]
        public uint Gid;

        [FieldOffset(28)]
        public ushort Mode;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int StatX(int directoryFd, string path, int flags, uint mask, out StatxBuffer buffer);
}

/// <summary>What kind of file system object a path names.</summary>
public enum FileKind
{
    /// <summary>A regular file.</summary>
    Regular,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A symbolic link (not followed).</summary>
    SymbolicLink,

    /// <summary>A character device.</summary>
    CharacterDevice,

    /// <summary>A block device.</summary>
    BlockDevice,

    /// <summary>A named pipe.</summary>
    Fifo,

    /// <summary>A Unix socket.</summary>
    Socket,
}

/// <summary>A path's kind, permission bits and owner, from statx.</summary>
public sealed record FileMetadata(FileKind Kind, UnixFileMode Mode, uint Uid, uint Gid);
