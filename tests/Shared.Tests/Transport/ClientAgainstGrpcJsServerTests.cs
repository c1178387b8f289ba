using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Hawser.Shared.Transport;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Transport;

/// <summary>Hawser's client (Grpc.Net.Client as <see cref="ControllerChannel"/> sets it up) calling a grpc-js server: every method kind, errors, limits, compression.</summary>
[TestClass]
public sealed class ClientAgainstGrpcJsServerTests
{
    private static InteropPeerServer _plain = null!;
    private static GrpcChannel _channel = null!;
    private static Interop.InteropClient _client = null!;

    [ClassInitialize]
    public static async Task ClassInitialize(TestContext _)
    {
        _plain = await InteropPeerServer.StartGrpcJsAsync();
        _channel = ControllerChannel.Create(_plain.Address);
        _client = new Interop.InteropClient(_channel);
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
        var headers = new Metadata { { "x-hawser-test", "hello" }, { "x-blob-bin", new byte[] { 0, 1, 2, 250, 255 } } };
        using var call = _client.EchoAsync(new EchoRequest { Message = "ping" }, headers);

        var reply = await call.ResponseAsync;

        Assert.AreEqual("ping", reply.Message);
        Assert.AreEqual("hello", reply.Metadata["x-hawser-test"]);
        var responseHeaders = await call.ResponseHeadersAsync;
        Assert.AreEqual("hello", responseHeaders.GetValue("x-hawser-test"));
        CollectionAssert.AreEqual(new byte[] { 0, 1, 2, 250, 255 }, responseHeaders.GetValueBytes("x-blob-bin"));
        Assert.AreEqual(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.AreEqual("hello", call.GetTrailers().GetValue("x-hawser-test-trailer"));
    }

    [TestMethod]
    public async Task Error_status_and_message_reach_the_caller()
    {
        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            _client.EchoAsync(new EchoRequest { FailCode = 9, FailMessage = "not ready: 100% über" }).ResponseAsync);

        Assert.AreEqual(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.AreEqual("not ready: 100% über", ex.Status.Detail);
    }

    [TestMethod]
    public async Task Deadline_ends_the_call_with_DEADLINE_EXCEEDED()
    {
        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            _client.EchoAsync(new EchoRequest { DelayMs = 60_000 }, deadline: DateTime.UtcNow.AddMilliseconds(300)).ResponseAsync);

        Assert.AreEqual(StatusCode.DeadlineExceeded, ex.StatusCode);
    }

    [TestMethod]
    public async Task A_deadline_of_1440_hours_is_sent_and_the_call_completes()
    {
        // 60 days: beyond what a CancellationTokenSource timer takes (about 49.7 days).
        var reply = await _client.EchoAsync(new EchoRequest { Message = "far off" }, deadline: DateTime.UtcNow.AddHours(1440)).ResponseAsync;

        Assert.AreEqual("far off", reply.Message);
    }

    [TestMethod]
    public async Task Client_streaming_sends_every_message()
    {
        using var call = _client.Sum();
        for (var i = 1; i <= 100; i++)
        {
            await call.RequestStream.WriteAsync(new Number { Value = i });
        }
        await call.RequestStream.CompleteAsync();

        var total = await call.ResponseAsync;

        Assert.AreEqual(5050, total.Sum);
        Assert.AreEqual(100, total.Count);
    }

    [TestMethod]
    public async Task Server_streaming_reads_every_message_then_OK()
    {
        using var call = _client.Countdown(new CountdownRequest { From = 5 });
        var values = new List<int>();
        await foreach (var count in call.ResponseStream.ReadAllAsync())
        {
            values.Add(count.Value);
        }

        CollectionAssert.AreEqual(new[] { 5, 4, 3, 2, 1 }, values);
        Assert.AreEqual(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [TestMethod]
    public async Task Server_stream_failure_keeps_earlier_messages_and_reports_the_status()
    {
        using var call = _client.Countdown(new CountdownRequest { From = 10, FailAfter = 3 });
        var values = new List<int>();

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            await foreach (var count in call.ResponseStream.ReadAllAsync())
            {
                values.Add(count.Value);
            }
        });

        CollectionAssert.AreEqual(new[] { 10, 9, 8 }, values);
        Assert.AreEqual(StatusCode.Aborted, ex.StatusCode);
        Assert.AreEqual("countdown aborted as asked", ex.Status.Detail);
    }

    [TestMethod]
    public async Task Bidirectional_stream_interleaves_requests_and_replies()
    {
        using var call = _client.Chat();
        for (var i = 1; i <= 3; i++)
        {
            // Each reply arrives before the next request is written: true interleaving, not a batch.
            await call.RequestStream.WriteAsync(new ChatMessage { Text = $"m{i}", Seq = i });
            Assert.IsTrue(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.AreEqual($"echo: m{i}", call.ResponseStream.Current.Text);
            Assert.AreEqual(i, call.ResponseStream.Current.Seq);
        }
        await call.RequestStream.CompleteAsync();

        Assert.IsFalse(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.AreEqual(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [TestMethod]
    public async Task Gzip_request_is_understood_by_grpc_js()
    {
        var payload = ByteString.CopyFrom(Enumerable.Repeat((byte)'A', 200_000).ToArray());

        var reply = await _client.EchoAsync(new EchoRequest { Message = "zipped", Payload = payload },
            new Metadata { { "grpc-internal-encoding-request", "gzip" } });

        Assert.AreEqual("zipped", reply.Message);
        Assert.AreEqual(payload, reply.Payload);
    }

    [TestMethod]
    public async Task Response_over_the_receive_limit_is_RESOURCE_EXHAUSTED()
    {
        using var channel = ControllerChannel.Create(_plain.Address, new ControllerChannelOptions { MaxReceiveMessageSize = 1024 * 1024 });

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() =>
            new Interop.InteropClient(channel).EchoAsync(new EchoRequest { ReplyPadding = 2 * 1024 * 1024 }).ResponseAsync);

        Assert.AreEqual(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [TestMethod]
    public async Task Request_over_the_send_limit_is_refused_before_sending()
    {
        var payload = ByteString.CopyFrom(new byte[5 * 1024 * 1024]);

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() => _client.EchoAsync(new EchoRequest { Payload = payload }).ResponseAsync);

        Assert.AreEqual(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [TestMethod]
    public async Task Method_the_server_lacks_is_UNIMPLEMENTED()
    {
        var missing = new Method<EchoRequest, EchoReply>(MethodType.Unary, "hawser.test.Interop", "DoesNotExist",
            Marshallers.Create(r => r.ToByteArray(), EchoRequest.Parser.ParseFrom), Marshallers.Create(r => r.ToByteArray(), EchoReply.Parser.ParseFrom));

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() => _channel.CreateCallInvoker().AsyncUnaryCall(missing, null, new CallOptions(), new EchoRequest()).ResponseAsync);

        Assert.AreEqual(StatusCode.Unimplemented, ex.StatusCode);
    }

    [TestMethod]
    public async Task Cancelling_a_stream_ends_it_with_CANCELLED()
    {
        using var cts = new CancellationTokenSource();
        using var call = _client.Countdown(new CountdownRequest { From = 1000, DelayMs = 20 }, cancellationToken: cts.Token);
        var received = 0;

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
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

    [TestMethod]
    public async Task Writing_to_a_stream_that_could_not_connect_fails_with_UNAVAILABLE()
    {
        // A port that was free a moment ago: nothing listens there.
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        probe.Dispose();
        using var channel = ControllerChannel.Create(new Uri($"http://127.0.0.1:{port}"));
        // No token and no deadline: only the failed connection can end the call.
        using var call = new Interop.InteropClient(channel).Chat();

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            await call.RequestStream.WriteAsync(new ChatMessage { Text = "hello" });
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });

        Assert.AreEqual(StatusCode.Unavailable, ex.StatusCode);
    }
}
