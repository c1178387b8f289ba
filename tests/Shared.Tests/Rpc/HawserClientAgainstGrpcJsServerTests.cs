using System.Diagnostics;
using Google.Protobuf;
using Hawser.Shared.Rpc;
using Hawser.Shared.Rpc.Client;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Rpc;

/// <summary>Hawser's client calling a grpc-js server: every method kind, errors, limits and compression.</summary>
[TestClass]
public sealed class HawserClientAgainstGrpcJsServerTests
{
    private static InteropPeerServer _plain = null!;
    private static RpcChannel _channel = null!;

    [ClassInitialize]
    public static async Task ClassInitialize(TestContext _)
    {
        _plain = await InteropPeerServer.StartGrpcJsAsync();
        _channel = new RpcChannel(_plain.Address);
    }

    [ClassCleanup]
    public static void ClassCleanup()
    {
        _channel.Dispose();
        _plain.Dispose();
    }

    [TestMethod]
    public async Task Unary_round_trips_message_and_metadata()
    {
        var headers = new Metadata().Add("x-hawser-test", "hello").Add("x-blob-bin", [0, 1, 2, 250, 255]);
        using var call = _channel.StartUnary(InteropMethods.Echo, new EchoRequest { Message = "ping" }, new CallOptions { Headers = headers });

        var reply = await call.ResponseAsync;

        Assert.AreEqual("ping", reply.Message);
        Assert.AreEqual("hello", reply.Metadata["x-hawser-test"]);
        var responseHeaders = await call.ResponseHeadersAsync;
        Assert.AreEqual("hello", responseHeaders.GetValue("x-hawser-test"));
        CollectionAssert.AreEqual(new byte[] { 0, 1, 2, 250, 255 }, responseHeaders.GetBytes("x-blob-bin"));
        Assert.AreEqual(StatusCode.OK, call.Status);
        Assert.AreEqual("hello", call.Trailers.GetValue("x-hawser-test-trailer"));
        Assert.IsNull(await call.ReadNextAsync(), "reading past the end repeats the outcome");
        Assert.AreEqual(1, call.Trailers.Count(t => t.Key == "x-hawser-test-trailer"), "trailers are read once");
    }

    [TestMethod]
    public async Task Error_status_and_message_reach_the_caller()
    {
        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            _channel.UnaryAsync(InteropMethods.Echo, new EchoRequest { FailCode = 9, FailMessage = "not ready: 100% über" }));

        Assert.AreEqual(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.AreEqual("not ready: 100% über", ex.Detail);
    }

    [TestMethod]
    public async Task Deadline_ends_the_call_with_DEADLINE_EXCEEDED()
    {
        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            _channel.UnaryAsync(InteropMethods.Echo, new EchoRequest { DelayMs = 5000 }, CallOptions.WithTimeout(TimeSpan.FromMilliseconds(300))));

        Assert.AreEqual(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.IsLessThan(3000, clock.ElapsedMilliseconds);
    }

    [TestMethod]
    public async Task Client_streaming_sends_every_message()
    {
        using var call = _channel.ClientStreaming(InteropMethods.Sum);
        for (var i = 1; i <= 100; i++)
        {
            await call.WriteAsync(new Number { Value = i });
        }
        await call.CompleteRequestAsync();

        var total = await call.ResponseAsync;

        Assert.AreEqual(5050, total.Sum);
        Assert.AreEqual(100, total.Count);
    }

    [TestMethod]
    public async Task Server_streaming_reads_every_message_then_OK()
    {
        using var call = _channel.ServerStreaming(InteropMethods.Countdown, new CountdownRequest { From = 5 });
        var values = new List<int>();
        await foreach (var count in call.ReadAllAsync())
        {
            values.Add(count.Value);
        }

        CollectionAssert.AreEqual(new[] { 5, 4, 3, 2, 1 }, values);
        Assert.AreEqual(StatusCode.OK, call.Status);
    }

    [TestMethod]
    public async Task Server_stream_failure_keeps_earlier_messages_and_reports_the_status()
    {
        using var call = _channel.ServerStreaming(InteropMethods.Countdown, new CountdownRequest { From = 10, FailAfter = 3 });
        var values = new List<int>();

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            await foreach (var count in call.ReadAllAsync())
            {
                values.Add(count.Value);
            }
        });

        CollectionAssert.AreEqual(new[] { 10, 9, 8 }, values);
        Assert.AreEqual(StatusCode.Aborted, ex.StatusCode);
        Assert.AreEqual("countdown aborted as asked", ex.Detail);
    }

    [TestMethod]
    public async Task Bidirectional_stream_interleaves_requests_and_replies()
    {
        using var call = _channel.DuplexStreaming(InteropMethods.Chat);
        for (var i = 1; i <= 3; i++)
        {
            // Each reply arrives before the next request is written: true interleaving, not a batch.
            await call.WriteAsync(new ChatMessage { Text = $"m{i}", Seq = i });
            var reply = await call.ReadNextAsync();
            Assert.IsNotNull(reply);
            Assert.AreEqual($"echo: m{i}", reply.Text);
            Assert.AreEqual(i, reply.Seq);
        }
        await call.CompleteRequestAsync();

        Assert.IsNull(await call.ReadNextAsync());
        Assert.AreEqual(StatusCode.OK, call.Status);
    }

    [TestMethod]
    public async Task Gzip_request_is_understood_by_grpc_js()
    {
        var payload = ByteString.CopyFrom(Enumerable.Repeat((byte)'A', 200_000).ToArray());

        var reply = await _channel.UnaryAsync(InteropMethods.Echo, new EchoRequest { Message = "zipped", Payload = payload },
            new CallOptions { Compression = "gzip" });

        Assert.AreEqual("zipped", reply.Message);
        Assert.AreEqual(payload, reply.Payload);
    }

    [TestMethod]
    public async Task Response_over_the_receive_limit_is_RESOURCE_EXHAUSTED()
    {
        using var channel = new RpcChannel(_plain.Address, new RpcChannelOptions { MaxReceiveMessageSize = 1024 * 1024 });

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            channel.UnaryAsync(InteropMethods.Echo, new EchoRequest { ReplyPadding = 2 * 1024 * 1024 }));

        Assert.AreEqual(StatusCode.ResourceExhausted, ex.StatusCode);
        StringAssert.Contains(ex.Detail, "Received message larger than max");
    }

    [TestMethod]
    public async Task Request_over_the_send_limit_is_refused_before_sending()
    {
        var payload = ByteString.CopyFrom(new byte[5 * 1024 * 1024]);

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            _channel.UnaryAsync(InteropMethods.Echo, new EchoRequest { Payload = payload }));

        Assert.AreEqual(StatusCode.ResourceExhausted, ex.StatusCode);
        StringAssert.Contains(ex.Detail, "Sending message larger than max");
    }

    [TestMethod]
    public async Task Method_the_server_lacks_is_UNIMPLEMENTED()
    {
        var missing = new Method<EchoRequest, EchoReply>("hawser.test.Interop", "DoesNotExist", MethodType.Unary);

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() => _channel.UnaryAsync(missing, new EchoRequest()));

        Assert.AreEqual(StatusCode.Unimplemented, ex.StatusCode);
    }

    [TestMethod]
    public async Task Cancelling_a_stream_ends_it_with_CANCELLED()
    {
        using var cts = new CancellationTokenSource();
        using var call = _channel.ServerStreaming(InteropMethods.Countdown, new CountdownRequest { From = 1000, DelayMs = 20 },
            new CallOptions { CancellationToken = cts.Token });
        var received = 0;

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ReadAllAsync())
            {
                if (++received == 2)
                {
                    await cts.CancelAsync();
                }
            }
        });

        Assert.AreEqual(StatusCode.Cancelled, ex.StatusCode);
        Assert.AreEqual(2, received);
    }
}
