using System.Net;
using Hawser.Shared.Rpc;
using Hawser.Shared.Rpc.Client;
using Hawser.Shared.Rpc.Server;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Rpc;

/// <summary>What a caller sees when a handler has a bug.</summary>
[TestClass]
public sealed class HandlerFailureTests
{
    [TestMethod]
    public async Task Unexpected_exception_is_UNKNOWN_without_its_internals_and_the_server_keeps_serving()
    {
        var server = new RpcServer()
            .MapUnary(InteropMethods.Echo, (request, _) => request.Message == "crash"
                ? throw new InvalidOperationException("secret path /etc/hawser/key.pem")
                : Task.FromResult(new EchoReply { Message = request.Message }))
            .MapServerStreaming(InteropMethods.Countdown, async (request, responses, _) =>
            {
                await responses.WriteAsync(new Count { Value = request.From });
                throw new InvalidOperationException("broke mid-stream");
            });
        await using var host = await RpcHost.StartAsync(server, [new RpcListenOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0) }]);
        using var channel = new RpcChannel(host.Addresses[0]);

        var unary = await Assert.ThrowsExactlyAsync<RpcException>(() => channel.UnaryAsync(InteropMethods.Echo, new EchoRequest { Message = "crash" }));
        using var stream = channel.ServerStreaming(InteropMethods.Countdown, new CountdownRequest { From = 7 });
        var first = await stream.ReadNextAsync();
        var streamed = await Assert.ThrowsExactlyAsync<RpcException>(() => stream.ReadNextAsync());
        var after = await channel.UnaryAsync(InteropMethods.Echo, new EchoRequest { Message = "fine" });

        Assert.AreEqual(StatusCode.Unknown, unary.StatusCode);
        Assert.DoesNotContain("secret", unary.Detail, "exception text stays in the server's log");
        Assert.AreEqual(7, first?.Value);
        Assert.AreEqual(StatusCode.Unknown, streamed.StatusCode, "an error after messages still arrives in the trailers");
        Assert.AreEqual("fine", after.Message);
    }
}
