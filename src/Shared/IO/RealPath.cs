using System.Runtime.InteropServices;

namespace Hawser.Shared.IO;

/// <summary>Where a path really is once the kernel has followed every symbolic link in it (realpath(3)).</summary>
public static partial class RealPath
{
    /// <summary>The canonical absolute path of existing <paramref name="path"/>, or null when it (or a link in it) leads nowhere.</summary>
    public static string? Of(string path)
    {
        var result = NativeRealPath(path, IntPtr.Zero);
        if (result == IntPtr.Zero)
        {
            return null;
        }
        try
        {
            return Marshal.PtrToStringUTF8(result);
        }
        finally
        {
            Free(result);
        }
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="directory"/> or inside it (both canonical).</summary>
    public static bool IsBeneath(string path, string directory) =>
        directory == "/" || path == directory || path.StartsWith(directory + "/", StringComparison.Ordinal);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial IntPtr NativeRealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);
}
