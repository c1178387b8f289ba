using System.Net;
using Google.Protobuf;
using Hawser.Shared.Rpc;
using Hawser.Shared.Rpc.Client;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Rpc;

/// <summary>Malformed and hostile input at the HTTP/2 level: a clear status, never a crash, and the server keeps serving.</summary>
[TestClass]
public sealed class WireProtocolTests
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
        using var channel = new RpcChannel(_server.Address);
        var reply = await channel.UnaryAsync(InteropMethods.Echo, new EchoRequest { Message = "still here" });
        Assert.AreEqual("still here", reply.Message);
    }

    private static byte[] EchoFrame(string message) => RawGrpcRequest.Frame(new EchoRequest { Message = message }.ToByteArray());

    [TestMethod]
    public async Task Well_formed_request_gets_message_then_status_in_trailers()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, EchoFrame("hi"));

        Assert.AreEqual(HttpStatusCode.OK, reply.HttpStatus);
        Assert.AreEqual(0, reply.GrpcStatus);
        Assert.IsFalse(reply.TrailersOnly, "a successful unary call carries its status in trailers");
        Assert.AreEqual("application/grpc", reply.Response.Content.Headers.ContentType?.MediaType);
        Assert.AreEqual(0, reply.Body[0], "uncompressed flag");
        Assert.AreEqual("hi", EchoReply.Parser.ParseFrom(reply.Body.AsSpan(5).ToArray()).Message);
    }

    [TestMethod]
    public async Task Explicit_proto_content_type_is_accepted()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, EchoFrame("proto"), contentType: "application/grpc+proto");

        Assert.AreEqual(0, reply.GrpcStatus, reply.GrpcMessage);
        Assert.AreEqual("proto", EchoReply.Parser.ParseFrom(reply.Body.AsSpan(5).ToArray()).Message);
    }

    [TestMethod]
    public async Task Truncated_frame_is_INTERNAL()
    {
        var frame = EchoFrame("this message will be cut short");

        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, frame[..^6]);

        Assert.AreEqual((int)StatusCode.Internal, reply.GrpcStatus);
        StringAssert.Contains(reply.GrpcMessage, "Incomplete message");
    }

    [TestMethod]
    public async Task Length_prefix_over_the_limit_is_RESOURCE_EXHAUSTED_without_reading_the_body()
    {
        var frame = RawGrpcRequest.Frame([1, 2, 3], declaredLength: 100 * 1024 * 1024);

        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, frame);

        Assert.AreEqual((int)StatusCode.ResourceExhausted, reply.GrpcStatus);
        StringAssert.Contains(reply.GrpcMessage, "larger than max");
    }

    [TestMethod]
    public async Task Unknown_method_is_Trailers_Only_UNIMPLEMENTED()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, "/hawser.test.Interop/Nope", EchoFrame("x"));

        Assert.AreEqual(HttpStatusCode.OK, reply.HttpStatus);
        Assert.AreEqual((int)StatusCode.Unimplemented, reply.GrpcStatus);
        Assert.IsTrue(reply.TrailersOnly);
        Assert.IsEmpty(reply.Body);
    }

    [TestMethod]
    public async Task Wrong_content_type_is_415_with_INTERNAL()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, EchoFrame("x"), contentType: "text/plain");

        Assert.AreEqual(HttpStatusCode.UnsupportedMediaType, reply.HttpStatus);
        Assert.AreEqual((int)StatusCode.Internal, reply.GrpcStatus);
    }

    [TestMethod]
    public async Task Json_subtype_is_refused_with_415()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, EchoFrame("x"), contentType: "application/grpc+json");

        Assert.AreEqual(HttpStatusCode.UnsupportedMediaType, reply.HttpStatus);
    }

    [TestMethod]
    public async Task Non_grpc_request_to_an_unknown_path_falls_through_to_404()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, "/index.html", [], contentType: "text/html");

        Assert.AreEqual(HttpStatusCode.NotFound, reply.HttpStatus);
        Assert.IsNull(reply.GrpcStatus);
    }

    [TestMethod]
    public async Task Compressed_flag_without_grpc_encoding_is_INTERNAL()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, RawGrpcRequest.Frame(new EchoRequest { Message = "x" }.ToByteArray(), flag: 1));

        Assert.AreEqual((int)StatusCode.Internal, reply.GrpcStatus);
        StringAssert.Contains(reply.GrpcMessage, "compressed flag");
    }

    [TestMethod]
    public async Task Compressed_flag_other_than_0_or_1_is_INTERNAL()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, RawGrpcRequest.Frame([], flag: 7));

        Assert.AreEqual((int)StatusCode.Internal, reply.GrpcStatus);
    }

    [TestMethod]
    public async Task Unsupported_grpc_encoding_is_UNIMPLEMENTED_and_lists_what_is_accepted()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, EchoFrame("x"), headers: [new("grpc-encoding", "snappy")]);

        Assert.AreEqual((int)StatusCode.Unimplemented, reply.GrpcStatus);
        Assert.AreEqual("identity,gzip", reply.Response.Headers.GetValues("grpc-accept-encoding").Single());
    }

    [TestMethod]
    public async Task Invalid_gzip_data_is_INTERNAL()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, RawGrpcRequest.Frame([1, 2, 3, 4, 5, 6], flag: 1),
            headers: [new("grpc-encoding", "gzip")]);

        Assert.AreEqual((int)StatusCode.Internal, reply.GrpcStatus);
        StringAssert.Contains(reply.GrpcMessage, "gzip");
    }

    [TestMethod]
    public async Task Malformed_grpc_timeout_is_INTERNAL()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, EchoFrame("x"), headers: [new("grpc-timeout", "123456789S")]);

        Assert.AreEqual((int)StatusCode.Internal, reply.GrpcStatus);
        StringAssert.Contains(reply.GrpcMessage, "grpc-timeout");
    }

    [TestMethod]
    public async Task Server_enforces_grpc_timeout_on_its_own()
    {
        // No client-side deadline here: only the server's timer can end this call early.
        var frame = RawGrpcRequest.Frame(new EchoRequest { DelayMs = 10_000 }.ToByteArray());
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, frame, headers: [new("grpc-timeout", "200m")]);

        Assert.AreEqual((int)StatusCode.DeadlineExceeded, reply.GrpcStatus);
        Assert.IsLessThan(5000, clock.ElapsedMilliseconds);
    }

    [TestMethod]
    public async Task Two_messages_on_a_unary_call_are_INTERNAL()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, [.. EchoFrame("a"), .. EchoFrame("b")]);

        Assert.AreEqual((int)StatusCode.Internal, reply.GrpcStatus);
    }

    [TestMethod]
    public async Task Unary_call_without_a_message_is_INTERNAL()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, []);

        Assert.AreEqual((int)StatusCode.Internal, reply.GrpcStatus);
    }

    [TestMethod]
    public async Task Garbage_payload_is_INTERNAL_not_a_crash()
    {
        var reply = await RawGrpcRequest.SendAsync(_server.Address, Echo, RawGrpcRequest.Frame([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]));

        Assert.AreEqual((int)StatusCode.Internal, reply.GrpcStatus);
    }

    [TestMethod]
    public async Task Gzip_request_gets_a_gzip_response_when_the_client_accepts_it()
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
        Assert.AreEqual("gzip", reply.Response.Headers.GetValues("grpc-encoding").Single());
        Assert.AreEqual(1, reply.Body[0], "the response message should carry the compressed flag");
        using var inflated = new System.IO.Compression.GZipStream(new MemoryStream(reply.Body, 5, reply.Body.Length - 5), System.IO.Compression.CompressionMode.Decompress);
        Assert.AreEqual("squeeze", EchoReply.Parser.ParseFrom(inflated).Message);
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

        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var channel = new RpcChannel(_server.Address);
        var total = await SumAsync(channel, 10);
        Assert.AreEqual(55, total.Sum);
    }

    private static async Task<Total> SumAsync(RpcChannel channel, int upTo)
    {
        using var call = channel.ClientStreaming(InteropMethods.Sum);
        for (var i = 1; i <= upTo; i++)
        {
            await call.WriteAsync(new Number { Value = i });
        }
        await call.CompleteRequestAsync();
        return await call.ResponseAsync;
    }
}
