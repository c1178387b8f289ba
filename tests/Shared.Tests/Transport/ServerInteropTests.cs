using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Transport;

/// <summary>
/// Hawser's server, called by independent gRPC clients. The same scenarios run with grpc-js and
/// with grpcio; each asserts what the foreign client saw on the wire.
/// </summary>
public abstract class HawserServerInteropTests
{
    /// <summary>The derived class's own server (each class starts one; classes run in parallel).</summary>
    protected abstract InteropServer Server { get; }

    protected abstract Task<JsonElement> RunAsync(string scenario);

    [TestMethod]
    public async Task Unary_echoes_message_and_metadata_in_headers_and_trailers()
    {
        var result = await RunAsync("unary");

        Assert.AreEqual("ping", result.GetProperty("reply").GetProperty("message").GetString(), result.ToString());
        var seen = result.GetProperty("reply").GetProperty("metadata");
        Assert.AreEqual("hello", seen.GetProperty("x-hawser-test").GetString());
        var leaked = seen.EnumerateObject().Select(p => p.Name).Where(n => !n.StartsWith("x-", StringComparison.Ordinal)).ToList();
        Assert.IsEmpty(leaked, "protocol headers must not appear as metadata: " + string.Join(", ", leaked));
        var headers = result.GetProperty("headers");
        Assert.AreEqual("hello", headers.GetProperty("x-hawser-test").GetString(), result.ToString());
        Assert.AreEqual(Convert.ToBase64String([0, 1, 2, 250, 255]), headers.GetProperty("x-blob-bin").GetString());
        var trailers = result.GetProperty("trailers");
        Assert.AreEqual("hello", trailers.GetProperty("x-hawser-test-trailer").GetString(), result.ToString());
        Assert.AreEqual(Convert.ToBase64String([0, 1, 2, 250, 255]), trailers.GetProperty("x-blob-trailer-bin").GetString());
    }

    [TestMethod]
    public async Task Error_status_arrives_with_its_code_and_percent_encoded_message()
    {
        var result = await RunAsync("error");

        var error = result.GetProperty("error");
        Assert.AreEqual(9, error.GetProperty("code").GetInt32(), result.ToString());
        Assert.AreEqual("not ready: 100% über", error.GetProperty("details").GetString());
    }

    [TestMethod]
    public async Task Deadline_expires_with_DEADLINE_EXCEEDED_and_the_handler_is_cancelled()
    {
        var cancelledBefore = Server.Service.CancelledCalls;
        var handlerCancelled = new TaskCompletionSource();
        Server.Service.CallCancelled += () => handlerCancelled.TrySetResult();

        var result = await RunAsync("deadline");

        Assert.AreEqual(4, result.GetProperty("error").GetProperty("code").GetInt32(), result.ToString());
        await handlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.IsGreaterThan(cancelledBefore, Server.Service.CancelledCalls);
    }

    [TestMethod]
    public async Task Client_streaming_sums_every_message()
    {
        var result = await RunAsync("clientStream");

        Assert.AreEqual(5050, result.GetProperty("reply").GetProperty("sum").GetInt64(), result.ToString());
        Assert.AreEqual(100, result.GetProperty("reply").GetProperty("count").GetInt32());
    }

    [TestMethod]
    public async Task Server_streaming_delivers_every_message_in_order()
    {
        var result = await RunAsync("serverStream");

        CollectionAssert.AreEqual(new[] { 5, 4, 3, 2, 1 },
            result.GetProperty("values").EnumerateArray().Select(v => v.GetInt32()).ToArray(), result.ToString());
    }

    [TestMethod]
    public async Task Bidirectional_stream_answers_each_message()
    {
        var result = await RunAsync("duplex");

        var replies = result.GetProperty("replies").EnumerateArray().ToArray();
        Assert.HasCount(3, replies, result.ToString());
        for (var i = 0; i < 3; i++)
        {
            Assert.AreEqual($"echo: m{i + 1}", replies[i].GetProperty("text").GetString());
            Assert.AreEqual(i + 1, replies[i].GetProperty("seq").GetInt32());
        }
    }

    [TestMethod]
    public async Task Gzip_compressed_request_is_read_and_answered()
    {
        var result = await RunAsync("gzip");

        var reply = result.GetProperty("reply");
        Assert.AreEqual("zipped", reply.GetProperty("message").GetString(), result.ToString());
        Assert.IsTrue(reply.GetProperty("payloadIntact").GetBoolean(), result.ToString());
        Assert.AreEqual("gzip", reply.GetProperty("peerCompression").GetString(), "the client should have compressed its request");
    }

    [TestMethod]
    public async Task Message_over_the_size_limit_is_refused_and_the_server_keeps_serving()
    {
        var result = await RunAsync("tooLarge");

        var error = result.GetProperty("error");
        Assert.AreEqual(8, error.GetProperty("code").GetInt32(), result.ToString());
        StringAssert.Contains(error.GetProperty("details").GetString(), "exceeds the maximum configured message size");
        var after = await RunAsync("unary");
        Assert.AreEqual("ping", after.GetProperty("reply").GetProperty("message").GetString(), after.ToString());
    }

    [TestMethod]
    public async Task Unknown_method_is_UNIMPLEMENTED()
    {
        var result = await RunAsync("unimplemented");

        Assert.AreEqual(12, result.GetProperty("error").GetProperty("code").GetInt32(), result.ToString());
    }
}

/// <summary>grpc-js (npm) calling Hawser's server.</summary>
[TestClass]
public sealed class GrpcJsClientAgainstHawserServerTests : HawserServerInteropTests
{
    private static InteropServer _server = null!;

    [ClassInitialize]
    public static async Task ClassInitialize(TestContext _) => _server = await InteropServer.StartAsync();

    [ClassCleanup]
    public static async Task ClassCleanup() => await _server.DisposeAsync();

    protected override InteropServer Server => _server;

    protected override Task<JsonElement> RunAsync(string scenario) => InteropClientRunner.GrpcJsAsync(Server.HostPort, scenario);

    [TestMethod]
    public async Task Server_stream_error_after_some_messages_keeps_the_messages_and_the_status()
    {
        var result = await RunAsync("serverStreamError");

        CollectionAssert.AreEqual(new[] { 10, 9, 8 },
            result.GetProperty("values").EnumerateArray().Select(v => v.GetInt32()).ToArray(), result.ToString());
        Assert.AreEqual(10, result.GetProperty("error").GetProperty("code").GetInt32());
        Assert.AreEqual("countdown aborted as asked", result.GetProperty("error").GetProperty("details").GetString());
    }

    [TestMethod]
    public async Task Reply_over_the_servers_send_limit_is_RESOURCE_EXHAUSTED()
    {
        var result = await RunAsync("tooLargeReply");

        var error = result.GetProperty("error");
        Assert.AreEqual(8, error.GetProperty("code").GetInt32(), result.ToString());
        StringAssert.Contains(error.GetProperty("details").GetString(), "Sending message exceeds the maximum configured message size");
    }

    [TestMethod]
    public async Task Client_cancellation_reaches_the_server_handler()
    {
        var handlerCancelled = new TaskCompletionSource();
        Server.Service.CallCancelled += () => handlerCancelled.TrySetResult();

        var result = await RunAsync("cancel");

        Assert.AreEqual(1, result.GetProperty("error").GetProperty("code").GetInt32(), result.ToString());
        Assert.HasCount(2, result.GetProperty("values").EnumerateArray().ToArray());
        await handlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }
}

/// <summary>grpcio (Debian's python3-grpcio) calling Hawser's server.</summary>
[TestClass]
public sealed class GrpcioClientAgainstHawserServerTests : HawserServerInteropTests
{
    private static InteropServer _server = null!;

    [ClassInitialize]
    public static async Task ClassInitialize(TestContext _) => _server = await InteropServer.StartAsync();

    [ClassCleanup]
    public static async Task ClassCleanup() => await _server.DisposeAsync();

    protected override InteropServer Server => _server;

    protected override Task<JsonElement> RunAsync(string scenario) => InteropClientRunner.GrpcioAsync(Server.HostPort, scenario);
}
