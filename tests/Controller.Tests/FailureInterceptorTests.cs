using Grpc.Core;
using Grpc.Net.Client;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>
/// A handler's unexpected exception, in each of the four handler kinds, on the controller's own gRPC host with
/// its failure interceptor: the client reads INTERNAL with the reason, never UNKNOWN, and the log names the method.
/// </summary>
[TestClass]
public sealed class FailureInterceptorTests
{
    [TestMethod]
    public async Task Every_handler_kind_answers_INTERNAL_with_the_reason_and_logs_the_method()
    {
        var log = new ListLogger();
        await using var server = await InteropServer.StartAsync(log);
        using var channel = GrpcChannel.ForAddress(server.Address);
        var client = new Interop.InteropClient(channel);

        var unary = await Assert.ThrowsExactlyAsync<RpcException>(() => client.EchoAsync(new EchoRequest { FailCode = -1 }).ResponseAsync);
        var clientStreaming = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            using var call = client.Sum();
            await call.RequestStream.WriteAsync(new Number { Value = 1 });
            await call.RequestStream.WriteAsync(new Number { Value = long.MinValue });
            await call.RequestStream.CompleteAsync();
            await call.ResponseAsync;
        });
        var serverStreaming = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            using var call = client.Countdown(new CountdownRequest { From = 5, FailAfter = -2 });
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        });
        var duplex = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            using var call = client.Chat();
            await call.RequestStream.WriteAsync(new ChatMessage { Text = "crash" });
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        });
        var healthy = await client.EchoAsync(new EchoRequest { Message = "still serving" });

        foreach (var (failure, what) in new[] { (unary, "echo"), (clientStreaming, "sum"), (serverStreaming, "countdown"), (duplex, "chat") })
        {
            Assert.AreEqual(StatusCode.Internal, failure.StatusCode, what);
            Assert.AreEqual($"the controller failed: {what} crashed as asked (logged on the controller)", failure.Status.Detail);
        }
        foreach (var method in new[] { "/hawser.test.Interop/Echo", "/hawser.test.Interop/Sum", "/hawser.test.Interop/Countdown", "/hawser.test.Interop/Chat" })
        {
            Assert.IsTrue(log.Lines.Any(l => l.StartsWith("Error: " + method + " from ", StringComparison.Ordinal) && l.Contains("InvalidOperationException", StringComparison.Ordinal)),
                $"{method} not logged:\n{string.Join("\n", log.Lines)}");
        }
        Assert.AreEqual("still serving", healthy.Message);
    }
}
