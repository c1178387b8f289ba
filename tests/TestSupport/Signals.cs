namespace Hawser.TestSupport;

/// <summary>Sends Unix signals to processes.</summary>
public static partial class Signals
{
    private const int SigInt = 2;
    private const int SigKill = 9;
    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    /// <summary>Sends SIGTERM.</summary>
    public static void Terminate(int pid) => Send(pid, SigTerm);

    /// <summary>Sends SIGINT.</summary>
    public static void Interrupt(int pid) => Send(pid, SigInt);

    /// <summary>Sends SIGKILL, ignoring a process that is already gone.</summary>
    public static void Kill(int pid) => _ = Kill(pid, SigKill);

    /// <summary>Freezes a process (SIGSTOP): its sockets stay open but nothing answers, like a hung host.</summary>
    public static void Freeze(int pid) => Send(pid, SigStop);

    /// <summary>Lets a frozen process run again (SIGCONT).</summary>
    public static void Thaw(int pid) => Send(pid, SigCont);

    private static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed");
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
