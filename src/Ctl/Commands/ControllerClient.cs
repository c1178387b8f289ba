using Hawser.Ctl.Output;
using Hawser.Shared.Rpc;
using Hawser.Shared.Rpc.Client;

namespace Hawser.Ctl.Commands;

/// <summary>Runs one control call and turns its failure into a message and an exit code.</summary>
internal static class ControllerClient
{
    /// <summary>How long one hawserctl call may take.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Connects to <paramref name="controller"/>, runs <paramref name="call"/>, and reports failures through <paramref name="output"/>.</summary>
    public static async Task<int> RunAsync(Uri controller, ConsoleOutput output, Func<RpcChannel, CallOptions, Task<int>> call,
        CancellationToken cancellationToken)
    {
        using var channel = new RpcChannel(controller, new RpcChannelOptions { ConnectTimeout = TimeSpan.FromSeconds(5) });
        var options = new CallOptions { Deadline = DateTime.UtcNow + CallTimeout, CancellationToken = cancellationToken };
        try
        {
            return await call(channel, options);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            output.WriteError($"cannot reach the controller at {controller}: {ex.Detail}. " +
                $"Is hawser-controller running there? (--controller or ${CtlOptions.ControllerVariable} choose another)", ex.StatusCode.ToString());
            return ExitCodes.Unreachable;
        }
        catch (RpcException ex)
        {
            output.WriteError($"the controller refused: {ex.Detail} ({ex.StatusCode})", ex.StatusCode.ToString());
            return ExitCodes.Failed;
        }
    }
}
