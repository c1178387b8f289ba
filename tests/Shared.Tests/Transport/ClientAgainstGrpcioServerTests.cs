using Grpc.Core;
using Grpc.Net.Client;
using Hawser.Shared.Transport;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Transport;

/// <summary>Hawser's client calling a grpcio server that gzip-compresses every response.</summary>
[TestClass]
public sealed class ClientAgainstGrpcioServerTests
{
    private static InteropPeerServer _server = null!;
    private static GrpcChannel _channel = null!;
    private static Interop.InteropClient _client = null!;

    [ClassInitialize]
    public static async Task ClassInitialize(TestContext _)
    {
        _server = await InteropPeerServer.StartGrpcioAsync();
        _channel = ControllerChannel.Create(_server.Address);
        _client = new Interop.InteropClient(_channel);
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
        using var call = _client.EchoAsync(new EchoRequest { Message = "compressed reply", ReplyPadding = 100_000 });

        var reply = await call.ResponseAsync;

        // server.py compresses every response with gzip; Grpc.Net.Client hides grpc-encoding, so the intact reply is the proof.
        Assert.AreEqual("compressed reply", reply.Message);
        Assert.AreEqual(100_000, reply.Padding.Length);
    }

    [TestMethod]
    public async Task Every_method_kind_works_with_compressed_responses()
    {
        using (var sum = _client.Sum())
        {
            for (var i = 1; i <= 10; i++)
            {
                await sum.RequestStream.WriteAsync(new Number { Value = i });
            }
            await sum.RequestStream.CompleteAsync();
            Assert.AreEqual(55, (await sum.ResponseAsync).Sum);
        }

        using (var countdown = _client.Countdown(new CountdownRequest { From = 3 }))
        {
            var values = new List<int>();
            await foreach (var count in countdown.ResponseStream.ReadAllAsync())
            {
                values.Add(count.Value);
            }
            CollectionAssert.AreEqual(new[] { 3, 2, 1 }, values);
        }

        using var chat = _client.Chat();
        await chat.RequestStream.WriteAsync(new ChatMessage { Text = "hi", Seq = 1 });
        Assert.IsTrue(await chat.ResponseStream.MoveNext(CancellationToken.None));
        Assert.AreEqual("echo: hi", chat.ResponseStream.Current.Text);
        await chat.RequestStream.CompleteAsync();
        Assert.IsFalse(await chat.ResponseStream.MoveNext(CancellationToken.None));
    }

    [TestMethod]
    public async Task Error_status_from_grpcio_reaches_the_caller()
    {
        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            _client.EchoAsync(new EchoRequest { FailCode = 5, FailMessage = "no such node: web9" }).ResponseAsync);

        Assert.AreEqual(StatusCode.NotFound, ex.StatusCode);
        Assert.AreEqual("no such node: web9", ex.Status.Detail);
    }
}
