using System.CommandLine;
using System.Net;
using Hawser.Controller.Api;
using Hawser.Controller.Store;
using Hawser.Shared.Rpc.Server;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Commands;

/// <summary><c>hawser-controller run</c>: open the store and serve agents and hawserctl until stopped.</summary>
internal sealed class RunCommand : Command
{
    /// <summary>The address served when --listen is not given.</summary>
    public const string DefaultListen = "127.0.0.1:7443";

    /// <summary>The data directory used when --data is not given.</summary>
    public const string DefaultData = "/var/lib/hawser-controller";

    private readonly Option<string> _listen = new("--listen")
    {
        Description = "Address and port to serve gRPC on, e.g. 127.0.0.1:7443 or [::1]:7443. " +
            "Without TLS (not yet available) only loopback addresses are allowed.",
        DefaultValueFactory = _ => DefaultListen,
    };

    private readonly Option<string> _data = new("--data")
    {
        Description = "Data directory: the embedded SQLite store (controller.db) lives here. Created when missing.",
        DefaultValueFactory = _ => DefaultData,
    };

    public RunCommand() : base("run", "Serve the control API and the agent stream until SIGINT or SIGTERM.")
    {
        Options.Add(_listen);
        Options.Add(_data);
        SetAction(RunAsync);
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var listen = parse.GetValue(_listen)!;
        if (!IPEndPoint.TryParse(listen, out var endPoint) || endPoint.Port == 0 && !listen.EndsWith(":0", StringComparison.Ordinal))
        {
            await Console.Error.WriteLineAsync($"error: --listen '{listen}' is not ADDRESS:PORT (e.g. 127.0.0.1:7443 or [::1]:7443)");
            return ExitCodes.Usage;
        }
        if (!IPAddress.IsLoopback(endPoint.Address))
        {
            await Console.Error.WriteLineAsync(
                $"error: --listen {listen} is not a loopback address. This build serves cleartext HTTP/2 only, " +
                "which must not leave the host; use 127.0.0.1 or [::1] until TLS enrollment is available.");
            return ExitCodes.Usage;
        }

        ControllerStore store;
        try
        {
            store = ControllerStore.Open(parse.GetValue(_data)!);
        }
        catch (StoreException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return ExitCodes.StoreUnavailable;
        }
        using (store)
        {
            Console.WriteLine($"store     {store.DatabasePath} (schema v{store.SchemaVersion})");
            var server = new ControlApi(store).MapTo(new RpcServer());
            RpcHost host;
            try
            {
                host = await RpcHost.StartAsync(server, [new RpcListenOptions { EndPoint = endPoint }],
                    configureBuilder: builder => builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning),
                    cancellationToken: cancellationToken);
            }
            catch (IOException ex)
            {
                await Console.Error.WriteLineAsync($"error: cannot listen on {listen}: {ex.Message}");
                return ExitCodes.ListenFailed;
            }
            await using (host)
            {
                Console.WriteLine($"listening {string.Join(", ", host.Addresses)} (gRPC, h2c)");
                Console.WriteLine("ready");
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine("stopping");
                }
            }
        }
        return ExitCodes.Ok;
    }
}
