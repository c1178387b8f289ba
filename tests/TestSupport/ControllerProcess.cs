using System.Diagnostics;

namespace Hawser.TestSupport;

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
