using Hawser.Shared.Rpc;
using Hawser.Shared.Rpc.Client;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Rpc;

/// <summary>Hawser's client calling a grpcio server that gzip-compresses every response.</summary>
[TestClass]
public sealed class HawserClientAgainstGrpcioServerTests
{
    private static InteropPeerServer _server = null!;
    private static RpcChannel _channel = null!;

    [ClassInitialize]
    public static async Task ClassInitialize(TestContext _)
    {
        _server = await InteropPeerServer.StartGrpcioAsync();
        _channel = new RpcChannel(_server.Address);
    }

    [ClassCleanup]
    public static void ClassCleanup()
    {
        _channel.Dispose();
        _server.Dispose();
    }

    [TestMethod]
    public async Task Gzip_response_is_decompressed()
    {
        using var call = _channel.StartUnary(InteropMethods.Echo, new EchoRequest { Message = "compressed reply", ReplyPadding = 100_000 });

        var reply = await call.ResponseAsync;

        Assert.AreEqual("gzip", call.ResponseEncoding, "grpcio was started with gzip responses");
        Assert.AreEqual("compressed reply", reply.Message);
        Assert.AreEqual(100_000, reply.Padding.Length);
    }

    [TestMethod]
    public async Task Every_method_kind_works_with_compressed_responses()
    {
        using (var sum = _channel.ClientStreaming(InteropMethods.Sum))
        {
            for (var i = 1; i <= 10; i++)
            {
                await sum.WriteAsync(new Number { Value = i });
            }
            await sum.CompleteRequestAsync();
            Assert.AreEqual(55, (await sum.ResponseAsync).Sum);
        }

        using (var countdown = _channel.ServerStreaming(InteropMethods.Countdown, new CountdownRequest { From = 3 }))
        {
            var values = new List<int>();
            await foreach (var count in countdown.ReadAllAsync())
            {
                values.Add(count.Value);
            }
            CollectionAssert.AreEqual(new[] { 3, 2, 1 }, values);
        }

        using var chat = _channel.DuplexStreaming(InteropMethods.Chat);
        await chat.WriteAsync(new ChatMessage { Text = "hi", Seq = 1 });
        Assert.AreEqual("echo: hi", (await chat.ReadNextAsync())?.Text);
        await chat.CompleteRequestAsync();
        Assert.IsNull(await chat.ReadNextAsync());
    }

    [TestMethod]
    public async Task Error_status_from_grpcio_reaches_the_caller()
    {
        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            _channel.UnaryAsync(InteropMethods.Echo, new EchoRequest { FailCode = 5, FailMessage = "no such node: web9" }));

        Assert.AreEqual(StatusCode.NotFound, ex.StatusCode);
        Assert.AreEqual("no such node: web9", ex.Detail);
    }
}
