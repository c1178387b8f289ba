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
    /// only for links the caller itself made. With <paramref name="noSymlinks"/> the directory must be reachable
    /// without following any symbolic link (the agent's writes, to a directory it resolved and checked): every step
    /// below is then made relative to that directory's descriptor, so a link swapped in meanwhile is refused, never
    /// followed, and a directory moved meanwhile takes the write with it.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<byte> content, UnixFileMode mode, int uid = -1, int gid = -1, bool replaceSymlink = false,
        bool noSymlinks = false)
    {
        using var directory = DirectoryHandle.Open(Path.GetDirectoryName(path)!, noSymlinks, create: true);
        var name = Path.GetFileName(path);
        if (directory.Stat(name) is { } existing && existing.Kind != FileKind.Regular && !(replaceSymlink && existing.Kind == FileKind.SymbolicLink))
        {
            throw new IOException($"refusing to write {path}: it is {Describe(existing.Kind)}, not a regular file");
        }
        var temp = TempName(name);
        try
        {
            var fd = OpenAt(directory.Fd, temp, OWriteOnly | OCreate | OExclusive | ONoFollow | OCloseOnExec, (int)mode);
            if (fd < 0)
            {
                throw Failure("create", Path.Join(directory.Path, temp));
            }
            using (var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true))
            {
                RandomAccess.Write(handle, content, 0);
                // The umask may have narrowed the create mode.
                Check(FChmod(fd, (int)mode), "chmod", temp);
                if (uid >= 0 || gid >= 0)
                {
                    Check(FChown(fd, uid, gid), $"chown to {uid}:{gid}", temp);
                }
                Check(FSync(fd), "fsync", temp);
            }
            Check(RenameAt(directory.Fd, temp, directory.Fd, name), $"rename {temp} to", path);
        }
        catch
        {
            _ = UnlinkAt(directory.Fd, temp, 0);
            throw;
        }
        _ = FSync(directory.Fd);
    }

    /// <summary>The mode of the file at <paramref name="path"/>, or <paramref name="fallback"/> when there is none.</summary>
    public static UnixFileMode ModeOr(string path, UnixFileMode fallback) => File.Exists(path) ? File.GetUnixFileMode(path) : fallback;

    /// <summary>Points symlink <paramref name="path"/> at <paramref name="target"/>, replacing whatever is there in one rename (<paramref name="noSymlinks"/> as for <see cref="Write"/>).</summary>
    public static void ReplaceSymlink(string path, string target, bool noSymlinks = false)
    {
        using var directory = DirectoryHandle.Open(Path.GetDirectoryName(path)!, noSymlinks, create: true);
        var temp = TempName(Path.GetFileName(path));
        Check(SymlinkAt(target, directory.Fd, temp), $"create symbolic link {temp} to {target} in", directory.Path);
        if (RenameAt(directory.Fd, temp, directory.Fd, Path.GetFileName(path)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            _ = UnlinkAt(directory.Fd, temp, 0);
            throw new IOException($"could not rename {temp} to {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        _ = FSync(directory.Fd);
    }

    /// <summary>Removes <paramref name="path"/> if present and makes the removal durable (<paramref name="noSymlinks"/> as for <see cref="Write"/>).</summary>
    public static void Delete(string path, bool noSymlinks = false)
    {
        using var directory = DirectoryHandle.Open(Path.GetDirectoryName(path)!, noSymlinks, create: false);
        if (directory.Fd < 0 || directory.Stat(Path.GetFileName(path)) is not { Kind: not FileKind.Directory })
        {
            return;
        }
        Check(UnlinkAt(directory.Fd, Path.GetFileName(path), 0), "remove", path);
        _ = FSync(directory.Fd);
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
    public static FileMetadata? Stat(string path) => Stat(AtFdCwd, path, path);

    private static FileMetadata? Stat(int directoryFd, string name, string path)
    {
        // statx: one struct layout on every architecture, unlike struct stat.
        if (StatX(directoryFd, name, AtSymlinkNoFollow, StatxType | StatxMode | StatxUid | StatxGid, out var buffer) != 0)
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
    /// which can hold private keys) and returns their paths. Only for a directory whose writers are not running. With
    /// <paramref name="noSymlinks"/> the directory is reached without following a link, and nothing outside it is removed.
    /// </summary>
    public static IReadOnlyList<string> RemoveStaleTemporaries(string directory, bool noSymlinks = false)
    {
        using var handle = DirectoryHandle.Open(directory, noSymlinks, create: false);
        if (handle.Fd < 0)
        {
            return [];
        }
        var removed = new List<string>();
        // Listed through the descriptor (/proc/self/fd), so the names are those of the directory that was opened.
        foreach (var entry in Directory.EnumerateFileSystemEntries($"/proc/self/fd/{handle.Fd}", ".*.hawser-*"))
        {
            var name = Path.GetFileName(entry);
            if (TempPattern().IsMatch(name) && handle.Stat(name)?.Kind is FileKind.Regular or FileKind.SymbolicLink && UnlinkAt(handle.Fd, name, 0) == 0)
            {
                removed.Add(Path.Join(directory, name));
            }
        }
        if (removed.Count > 0)
        {
            _ = FSync(handle.Fd);
        }
        return removed;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\..+\.hawser-[0-9a-f]{12}\z")]
    private static partial System.Text.RegularExpressions.Regex TempPattern();

    private static string TempName(string name) => $".{name}.hawser-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";

    private static void Check(int result, string what, string path)
    {
        if (result != 0)
        {
            throw Failure(what, path);
        }
    }

    private static IOException Failure(string what, string path) =>
        new($"could not {what} {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    /// <summary>
    /// An open directory, for the *at calls. Opened either as its path says (links followed) or, with no symbolic
    /// link allowed, one component at a time from <c>/</c>, each with O_NOFOLLOW relative to the one before (missing
    /// ones made with mkdirat when asked): a link anywhere on the way is refused, however late it was swapped in.
    /// </summary>
    private sealed class DirectoryHandle : IDisposable
    {
        private DirectoryHandle(string path, int fd)
        {
            Path = path;
            Fd = fd;
        }

        /// <summary>The directory's path, for messages.</summary>
        public string Path { get; }

        /// <summary>Its descriptor; -1 when it does not exist (and was not to be made).</summary>
        public int Fd { get; private set; }

        public static DirectoryHandle Open(string directory, bool noSymlinks, bool create)
        {
            directory = System.IO.Path.GetFullPath(directory);
            if (!noSymlinks)
            {
                if (create)
                {
                    Directory.CreateDirectory(directory);
                }
                var fd = LibcOpen(directory, ODirectory | OReadOnly | OCloseOnExec);
                if (fd < 0 && (create || Marshal.GetLastPInvokeError() is not (2 or 20)))
                {
                    throw Failure("open directory", directory);
                }
                return new DirectoryHandle(directory, fd);
            }
            var current = LibcOpen("/", ODirectory | OReadOnly | OCloseOnExec);
            if (current < 0)
            {
                throw Failure("open directory", "/");
            }
            var walked = "";
            foreach (var part in directory.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                walked += "/" + part;
                var next = OpenAt(current, part, ODirectory | OReadOnly | ONoFollow | OCloseOnExec, 0);
                if (next < 0 && Marshal.GetLastPInvokeError() == 2 /* ENOENT */ && create)
                {
                    if (MkdirAt(current, part, 0b111_101_101) != 0 && Marshal.GetLastPInvokeError() != 17 /* EEXIST */)
                    {
                        var failure = Failure("create directory", walked);
                        _ = Close(current);
                        throw failure;
                    }
                    next = OpenAt(current, part, ODirectory | OReadOnly | ONoFollow | OCloseOnExec, 0);
                }
                if (next < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    _ = Close(current);
                    if (errno == 2 && !create)
                    {
                        return new DirectoryHandle(directory, -1);
                    }
                    // ELOOP or ENOTDIR: a symbolic link (or no directory) where the checked path had a directory.
                    throw new IOException(errno is 40 or 20
                        ? $"refusing to write in {directory}: {walked} is not the directory it was when checked (a symbolic link or a file is there now); nothing was written"
                        : $"could not open directory {walked}: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
                _ = Close(current);
                current = next;
            }
            return new DirectoryHandle(directory, current);
        }

        /// <summary>What <paramref name="name"/> in this directory is (not following a link), or null.</summary>
        public FileMetadata? Stat(string name) => AtomicFile.Stat(Fd, name, System.IO.Path.Join(Path, name));

        public void Dispose()
        {
            if (Fd >= 0)
            {
                _ = Close(Fd);
                Fd = -1;
            }
        }
    }

    private static readonly bool IsX86 = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;
    private const int OReadOnly = 0, OWriteOnly = 1, OCreate = 0x40, OExclusive = 0x80, OCloseOnExec = 0x80000;

    // O_DIRECTORY and O_NOFOLLOW differ between x86 and the ARM ABIs.
    private static int ODirectory => IsX86 ? 0x10000 : 0x4000;

    private static int ONoFollow => IsX86 ? 0x20000 : 0x8000;

    [LibraryImport("libc", EntryPoint = "openat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int OpenAt(int directoryFd, string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "mkdirat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MkdirAt(int directoryFd, string path, int mode);

    [LibraryImport("libc", EntryPoint = "renameat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int RenameAt(int fromFd, string from, int toFd, string to);

    [LibraryImport("libc", EntryPoint = "unlinkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int UnlinkAt(int directoryFd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "symlinkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SymlinkAt(string target, int directoryFd, string path);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int FChmod(int fd, int mode);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int FChown(int fd, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LibcOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

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
