using System.Diagnostics;

namespace Hawser.TestSupport;

/// <summary>An independent gRPC server for the interop service, running as a real process.</summary>
public sealed class InteropPeerServer : IDisposable
{
    /// <summary>The Debian python that has python3-grpcio; the PATH may hold another one.</summary>
    public const string DebianPython = "/usr/bin/python3";

    private readonly Process _process;

    private InteropPeerServer(Process process, int port)
    {
        _process = process;
        Address = new Uri($"http://127.0.0.1:{port}/");
    }

    /// <summary>The server's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>The server's h2c address.</summary>
    public Uri Address { get; }

    /// <summary>tests/interop/server.js on grpc-js.</summary>
    public static Task<InteropPeerServer> StartGrpcJsAsync() => StartAsync("node", ["server.js"]);

    /// <summary>tests/interop/server.py on grpcio, compressing every response with gzip.</summary>
    public static Task<InteropPeerServer> StartGrpcioAsync() => StartAsync(DebianPython, ["server.py"]);

    private static async Task<InteropPeerServer> StartAsync(string program, string[] arguments)
    {
        var process = ExternalProcess.Start(program, arguments, RepoPaths.Interop);
        var port = await ExternalProcess.WaitForLineAsync(process, "LISTENING ", TimeSpan.FromSeconds(30));
        return new InteropPeerServer(process, int.Parse(port, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Stops the process.</summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            // A frozen process ignores nothing but SIGKILL; thaw first so it can also be reaped cleanly.
            Signals.Thaw(_process.Id);
        }
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
    }
}
