using Grpc.Core;
using Hawser.Shared.Transport;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Transport;

/// <summary>HTTP/2 keepalive pings find a peer that stopped answering, as an agent must find a hung controller.</summary>
[TestClass]
public sealed class KeepAliveTests
{
    [TestMethod]
    public async Task Frozen_peer_fails_an_open_stream_at_the_ping_timeout_not_at_its_deadline()
    {
        using var server = await InteropPeerServer.StartGrpcJsAsync();
        using var channel = ControllerChannel.Create(server.Address, new ControllerChannelOptions
        {
            KeepAlivePingDelay = TimeSpan.FromSeconds(1),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(1),
        });
        using var call = new Interop.InteropClient(channel).Countdown(new CountdownRequest { From = 100_000, DelayMs = 100 },
            deadline: DateTime.UtcNow.AddMinutes(5));
        Assert.IsTrue(await call.ResponseStream.MoveNext(CancellationToken.None));

        Signals.Freeze(server.ProcessId);
        var ex = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        });

        // DEADLINE_EXCEEDED would mean the 5-minute deadline ended it, not the ping timeout.
        Assert.AreNotEqual(StatusCode.DeadlineExceeded, ex.StatusCode, ex.Status.Detail);
        StringAssert.Contains(ex.Status.Detail, "ping");
    }

    [TestMethod]
    public async Task Without_pings_the_same_freeze_is_only_ended_by_the_deadline()
    {
        using var server = await InteropPeerServer.StartGrpcJsAsync();
        using var channel = ControllerChannel.Create(server.Address, new ControllerChannelOptions { KeepAlivePingDelay = Timeout.InfiniteTimeSpan });
        using var call = new Interop.InteropClient(channel).Countdown(new CountdownRequest { From = 100_000, DelayMs = 100 },
            deadline: DateTime.UtcNow.AddSeconds(6));
        Assert.IsTrue(await call.ResponseStream.MoveNext(CancellationToken.None));

        Signals.Freeze(server.ProcessId);
        var ex = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        });

        Assert.AreEqual(StatusCode.DeadlineExceeded, ex.StatusCode, "this is what the pings in the other test save us from");
    }
}
