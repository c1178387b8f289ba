using System.Net;
using Hawser.Shared.Rpc.Server;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Benchmarks;

/// <summary>
/// Hawser's server with minimal handlers on the interop methods, so the figures measure the wire
/// layer rather than the test service's metadata echoing.
/// </summary>
internal static class BenchServer
{
    public static Task<RpcHost> StartAsync(int port = 0)
    {
        var server = new RpcServer()
            .MapUnary(InteropMethods.Echo, static (request, _) => Task.FromResult(new EchoReply { Message = request.Message }))
            .MapServerStreaming(InteropMethods.Countdown, static async (request, responses, _) =>
            {
                for (var value = request.From; value > 0; value--)
                {
                    await responses.WriteAsync(new Count { Value = value });
                }
            })
            .MapClientStreaming(InteropMethods.Sum, static async (numbers, _) =>
            {
                var total = new Total();
                await foreach (var number in numbers)
                {
                    total.Sum += number.Value;
                    total.Count++;
                }
                return total;
            });
        return RpcHost.StartAsync(server, [new RpcListenOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, port) }]);
    }
}
