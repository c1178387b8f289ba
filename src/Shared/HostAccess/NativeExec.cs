using System.Runtime.InteropServices;

namespace Hawser.Shared.HostAccess;

/// <summary>execv(2): this process becomes another binary with the same process id, so systemd's and OpenRC's supervision (and a plain parent) keep it.</summary>
public static partial class NativeExec
{
    [LibraryImport("libc", EntryPoint = "execv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Execv(string path, IntPtr argv);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "getppid")]
    private static partial int GetParentProcessId();

    /// <summary>This process's parent's id (1, or a subreaper's, once the parent is gone).</summary>
    public static int ParentProcessId => GetParentProcessId();

    /// <summary>Sends SIGTERM to <paramref name="pid"/> (.NET's Process.Kill sends SIGKILL): a graceful stop.</summary>
    public static void Terminate(int pid) => Kill(pid, 15);

    /// <summary>Runs <paramref name="path"/> with <paramref name="arguments"/> in place of this process; returns only by throwing.</summary>
    public static void Replace(string path, IReadOnlyList<string> arguments)
    {
        var argv = Marshal.AllocHGlobal(IntPtr.Size * (arguments.Count + 2));
        var strings = new List<IntPtr>();
        try
        {
            foreach (var (argument, index) in new[] { path }.Concat(arguments).Select((a, i) => (a, i)))
            {
                var text = Marshal.StringToCoTaskMemUTF8(argument);
                strings.Add(text);
                Marshal.WriteIntPtr(argv, index * IntPtr.Size, text);
            }
            Marshal.WriteIntPtr(argv, (arguments.Count + 1) * IntPtr.Size, IntPtr.Zero);
            Execv(path, argv);
            throw new IOException($"execv {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
        finally
        {
            strings.ForEach(Marshal.FreeCoTaskMem);
            Marshal.FreeHGlobal(argv);
        }
    }
}
