using System.CommandLine;
using Grpc.Core;
using Grpc.Net.Client;
using Hawser.Ctl.Configuration;
using Hawser.Ctl.Output;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Transport;

namespace Hawser.Ctl.Commands;

/// <summary>Connects with the config's credential, runs one control call, and turns its failure into a message and an exit code.</summary>
internal static class ControllerClient
{
    /// <summary>How long one hawserctl call may take.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs <paramref name="call"/> against the controller the command line and config name.</summary>
    public static Task<int> RunAsync(ParseResult parse, ConsoleOutput output, Func<ControlService.ControlServiceClient, CallOptions, Task<int>> call,
        CancellationToken cancellationToken, TimeSpan? timeout = null) =>
        RunAsync(parse, output, (client, options, _) => call(client, options), cancellationToken, timeout);

    /// <summary>As the other overload; <paramref name="call"/> also hears the controller URL in use (from --controller, the environment or the config).</summary>
    public static async Task<int> RunAsync(ParseResult parse, ConsoleOutput output, Func<ControlService.ControlServiceClient, CallOptions, Uri, Task<int>> call,
        CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var configPath = parse.GetValue(CtlOptions.Config)!;
        CtlConfig? config;
        ControllerChannelOptions options;
        Uri controller;
        IReadOnlyList<Uri> candidates;
        try
        {
            config = CtlConfig.Load(configPath);
            // An explicit --controller (or $HAWSER_CONTROLLER) is that one; the config may name several sharing a store.
            candidates = parse.GetValue(CtlOptions.Controller) is { } chosen ? [chosen]
                : config?.AllControllers is { Count: > 0 } named ? named : [new Uri(CtlOptions.DefaultController)];
            controller = candidates[0];
            options = new ControllerChannelOptions { ConnectTimeout = TimeSpan.FromSeconds(5) };
            if (candidates.Any(c => c.Scheme == "https"))
            {
                if (config is null)
                {
                    output.WriteError($"no hawserctl config at {configPath}: it holds the controller's CA and the admin credential. " +
                        "`hawser-controller init --write-ctl-config FILE` writes one; point --config or $HAWSER_CONFIG at it.", "NoConfig");
                    return ExitCodes.Usage;
                }
                // hawserctl talks to this controller only, and trusts only its CA.
                PinnedTrust.ExcludeSystemRoots();
                var (ca, admin) = config.LoadCredentials(configPath);
                options = options with { TrustedCa = ca, ClientCertificate = admin };
            }
        }
        catch (InvalidDataException ex)
        {
            output.WriteError(ex.Message, "BadConfig");
            return ExitCodes.Usage;
        }
        GrpcChannel? reached = null;
        if (candidates.Count > 1)
        {
            // The first that answers: a controller that is down costs one connect timeout, then the next is asked.
            foreach (var candidate in candidates)
            {
                var trying = ControllerChannel.Create(candidate, options);
                try
                {
                    using var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    connect.CancelAfter(options.ConnectTimeout);
                    await trying.ConnectAsync(connect.Token);
                    reached = trying;
                    controller = candidate;
                    break;
                }
                catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or RpcException or System.Net.Sockets.SocketException && !cancellationToken.IsCancellationRequested)
                {
                    trying.Dispose();
                    // After the last one the error below says it all.
                    if (candidate != candidates[^1])
                    {
                        output.WriteNote($"the controller at {candidate} cannot be reached; trying the next the config names");
                    }
                }
            }
            if (reached is null)
            {
                output.WriteError($"cannot reach any controller the config names ({string.Join(", ", candidates)}). Is hawser-controller running there?", "Unavailable");
                return ExitCodes.Unreachable;
            }
        }
        using var channel = reached ?? ControllerChannel.Create(controller, options);
        // An infinite timeout (a watch) sets no deadline; each call inside sets its own.
        var callOptions = new CallOptions(deadline: timeout == Timeout.InfiniteTimeSpan ? null : DateTime.UtcNow + (timeout ?? CallTimeout), cancellationToken: cancellationToken);
        try
        {
            return await call(new ControlService.ControlServiceClient(channel), callOptions, controller);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded && timeout != Timeout.InfiniteTimeSpan)
        {
            // Connecting gives up (UNAVAILABLE) long before the call's deadline, so a deadline means the controller
            // was reached and is slow: never blame reachability, and say the request may still take effect.
            output.WriteError($"the controller at {controller} did not answer within {(timeout ?? CallTimeout).TotalSeconds:0} s; it is reachable but busy, " +
                "and the request may still take effect: check with `hawserctl status` (or `rollout status`) before repeating it", "DeadlineExceeded");
            return ExitCodes.Unreachable;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            output.WriteError($"cannot reach the controller at {controller}: {RpcFailure.Describe(ex)}. " +
                $"Is hawser-controller running there? (--controller or ${CtlOptions.ControllerVariable} choose another)", ex.StatusCode.ToString());
            return ExitCodes.Unreachable;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Internal && ex.Status.DebugException is HttpRequestException { InnerException: System.Security.Authentication.AuthenticationException })
        {
            // Grpc.Net.Client reports a failed TLS handshake as INTERNAL: name it for what it is.
            output.WriteError($"TLS with the controller at {controller} failed: {ex.Status.DebugException.InnerException.Message} " +
                "Does the config's CA match this controller, and is its admin certificate current?", "TlsFailed");
            return ExitCodes.Unreachable;
        }
        catch (RpcException ex)
        {
            output.WriteError($"the controller refused: {ex.Status.Detail} ({ex.StatusCode})", ex.StatusCode.ToString());
            return ExitCodes.Failed;
        }
    }
}
