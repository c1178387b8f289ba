using System.Diagnostics;

namespace Hawser.TestSupport;

/// <summary>Hawser's own binaries, run as real processes from the test's output folder.</summary>
public static class HawserProcesses
{
    /// <summary>Runs hawserctl (or another Hawser binary) to its end.</summary>
    public static Task<ProcessResult> RunAsync(string binary, IEnumerable<string> arguments, IDictionary<string, string>? environment = null) =>
        ExternalProcess.RunAsync("dotnet", [DllPath(binary), .. arguments], TimeSpan.FromSeconds(60), environment: environment);

    /// <summary>Starts a Hawser binary; the caller owns the process.</summary>
    public static Process Start(string binary, IEnumerable<string> arguments) =>
        ExternalProcess.Start("dotnet", [DllPath(binary), .. arguments]);

    private static string DllPath(string binary)
    {
        var path = Path.Combine(AppContext.BaseDirectory, binary + ".dll");
        if (!File.Exists(path))
        {
            throw new AssertFailedException($"{path} is missing: the test project must reference the {binary} project");
        }
        return path;
    }
}

/// <summary>A real <c>hawser-controller run</c> on a free loopback port with its own data directory.</summary>
public sealed class ControllerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ControllerProcess(Process process, Uri address, string dataDirectory)
    {
        _process = process;
        Address = address;
        DataDirectory = dataDirectory;
    }

    /// <summary>The controller's h2c URL.</summary>
    public Uri Address { get; }

    /// <summary>The data directory it uses.</summary>
    public string DataDirectory { get; }

    /// <summary>Starts the controller and waits until it reports that it is listening.</summary>
    public static async Task<ControllerProcess> StartAsync(string dataDirectory)
    {
        var process = HawserProcesses.Start("hawser-controller", ["run", "--listen", "127.0.0.1:0", "--data", dataDirectory]);
        var listening = await ExternalProcess.WaitForLineAsync(process, "listening ", TimeSpan.FromSeconds(30));
        return new ControllerProcess(process, new Uri(listening.Split(' ')[0]), dataDirectory);
    }

    /// <summary>Stops it with SIGTERM, as systemd would, and waits for a clean exit.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            Signals.Terminate(_process.Id);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(cts.Token);
        }
        return _process.ExitCode;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}

/// <summary>Sends Unix signals to processes.</summary>
public static partial class Signals
{
    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    /// <summary>Sends SIGTERM.</summary>
    public static void Terminate(int pid) => Send(pid, SigTerm);

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

/// <summary>A temporary directory removed at dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Creates a fresh directory under the system temp folder.</summary>
    public TempDirectory(string prefix = "hawser-test-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
