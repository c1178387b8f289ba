using System.Net;
using System.Net.Sockets;
using Hawser.Shared.Rpc;
using Hawser.Shared.Rpc.Client;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Rpc;

/// <summary>A streaming call whose connection cannot be made fails every operation; none waits forever.</summary>
[TestClass]
public sealed class ClientConnectionFailureTests
{
    [TestMethod]
    public async Task Writing_to_a_stream_that_could_not_connect_fails_with_UNAVAILABLE()
    {
        // A port that was free a moment ago: nothing listens there.
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        probe.Dispose();
        using var channel = new RpcChannel(new Uri($"http://127.0.0.1:{port}"));
        // No token and no deadline: only the failed connection can end the write.
        using var call = channel.DuplexStreaming(InteropMethods.Chat);

        var write = call.WriteAsync(new ChatMessage { Text = "hello" });
        var finished = await Task.WhenAny(write, Task.Delay(TimeSpan.FromSeconds(20)));

        Assert.AreSame(write, finished, "the write must fail once the connection is refused, not wait");
        var error = await Assert.ThrowsExactlyAsync<RpcException>(() => write);
        Assert.AreEqual(StatusCode.Unavailable, error.StatusCode);
    }
}
