using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Hawser.Shared.Transport;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Transport;

/// <summary>
/// What the controller's gRPC host (<c>GrpcHost</c>) does with input a well-behaved client never sends:
/// a clear status, never a crash or an allocation the size of a lie, and the server keeps serving.
/// </summary>
[TestClass]
public sealed class ServerLimitsTests
{
    private const string Echo = "/hawser.test.Interop/Echo";
    private static InteropServer _server = null!;

    [ClassInitialize]
    public static async Task ClassInitialize(TestContext _) => _server = await InteropServer.StartAsync();

    [ClassCleanup]
    public static async Task ClassCleanup() => await _server.DisposeAsync();

    [TestCleanup]
    public async Task ServerStillServes()
    {
        using var channel = ControllerChannel.Create(_server.Address);
        var reply = await new Interop.InteropClient(channel).EchoAsync(new EchoRequest { Message = "still here" });
        Assert.AreEqual("still here", reply.Message);
    }

    private static byte[] EchoFrame(string message) => RawGrpcRequest.Frame(new EchoRequest { Message = message }.ToByteArray());

    [TestMethod]
    public async Task A_length_prefix_over_the_limit_is_RESOURCE_EXHAUSTED_without_reading_the_body()
    {
        var frame = RawGrpcRequest.Frame([1, 2, 3], declaredLength: 100 * 1024 * 1024);

        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, frame);

        Assert.AreEqual((int)StatusCode.ResourceExhausted, reply.GrpcStatus, reply.GrpcMessage);
    }

    [TestMethod]
    [DataRow(int.MaxValue + 1u)]
    [DataRow(uint.MaxValue)]
    public async Task A_length_prefix_of_2_GiB_or_more_is_refused_without_allocating_it(uint declared)
    {
        // grpc-dotnet 2.85 answers these UNKNOWN ("Message too large" before any buffer is made), not
        // RESOURCE_EXHAUSTED as it does below 2 GiB; what matters is that nothing is read or allocated
        // and the server goes on serving (checked after every test).
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var frame = RawGrpcRequest.Frame([1, 2, 3], declaredLength: declared);

        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, frame);

        Assert.IsTrue(reply.GrpcStatus is (int)StatusCode.Unknown or (int)StatusCode.ResourceExhausted, $"{reply.GrpcStatus} {reply.GrpcMessage}");
        Assert.IsLessThan(256L * 1024 * 1024, GC.GetTotalAllocatedBytes(precise: true) - before, "the declared length was allocated");
    }

    [TestMethod]
    public async Task A_message_over_4_MiB_is_RESOURCE_EXHAUSTED()
    {
        using var channel = ControllerChannel.Create(_server.Address, new ControllerChannelOptions { MaxSendMessageSize = 16 * 1024 * 1024 });

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() => new Interop.InteropClient(channel)
            .EchoAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[5 * 1024 * 1024]) }).ResponseAsync);

        Assert.AreEqual(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [TestMethod]
    public async Task A_grpc_timeout_of_1440_hours_is_served()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, EchoFrame("patient"), headers: [new("grpc-timeout", "1440H")]);

        Assert.AreEqual(HttpStatusCode.OK, reply.HttpStatus);
        Assert.AreEqual(0, reply.GrpcStatus, reply.GrpcMessage);
        Assert.AreEqual("patient", EchoReply.Parser.ParseFrom(reply.Body.AsSpan(5).ToArray()).Message);
    }

    [TestMethod]
    public async Task The_server_ends_a_call_at_its_grpc_timeout()
    {
        // No client-side deadline here: only the server's timer can end this call.
        var frame = RawGrpcRequest.Frame(new EchoRequest { DelayMs = 600_000 }.ToByteArray());

        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, frame, headers: [new("grpc-timeout", "200m")]);

        Assert.AreEqual((int)StatusCode.DeadlineExceeded, reply.GrpcStatus);
    }

    [TestMethod]
    public async Task Unknown_method_is_UNIMPLEMENTED()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, "/hawser.test.Interop/Nope", EchoFrame("x"));

        Assert.AreEqual((int)StatusCode.Unimplemented, reply.GrpcStatus);
    }

    [TestMethod]
    public async Task Gzip_request_is_read_and_answered_in_gzip()
    {
        using var gzipped = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(gzipped, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            new EchoRequest { Message = "squeeze" }.WriteTo(gzip);
        }
        var frame = RawGrpcRequest.Frame(gzipped.ToArray(), flag: 1);

        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, frame,
            headers: [new("grpc-encoding", "gzip"), new("grpc-accept-encoding", "gzip")]);

        Assert.AreEqual(0, reply.GrpcStatus, reply.GrpcMessage);
        Assert.AreEqual(1, reply.Body[0], "the response message should carry the compressed flag");
        using var inflated = new System.IO.Compression.GZipStream(new MemoryStream(reply.Body, 5, reply.Body.Length - 5), System.IO.Compression.CompressionMode.Decompress);
        Assert.AreEqual("squeeze", EchoReply.Parser.ParseFrom(inflated).Message);
    }

    [TestMethod]
    public async Task Garbage_payload_is_an_error_status_not_a_crash()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, RawGrpcRequest.Frame([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]));

        Assert.IsNotNull(reply.GrpcStatus);
        Assert.AreNotEqual(0, reply.GrpcStatus);
    }

    [TestMethod]
    public async Task Client_killed_mid_stream_cancels_its_handlers_and_others_are_served()
    {
        var cancelled = new TaskCompletionSource();
        _server.Service.CallCancelled += () => cancelled.TrySetResult();
        // A real grpc-js client with a server stream and a bidirectional stream open, killed with SIGKILL.
        using (var client = ExternalProcess.Start("node", ["client.js", _server.HostPort, "hold"], RepoPaths.Interop))
        {
            await ExternalProcess.WaitForLineAsync(client, "STREAMING", TimeSpan.FromSeconds(30));
            client.Kill(entireProcessTree: true);
            await client.WaitForExitAsync();
        }

        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
