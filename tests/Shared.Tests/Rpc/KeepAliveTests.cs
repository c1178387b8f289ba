using System.Diagnostics;
using Hawser.Shared.Rpc;
using Hawser.Shared.Rpc.Client;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Rpc;

/// <summary>HTTP/2 keepalive pings find a peer that stopped answering, as an agent must find a hung controller.</summary>
[TestClass]
public sealed class KeepAliveTests
{
    [TestMethod]
    public async Task Frozen_peer_fails_an_open_stream_with_UNAVAILABLE_long_before_its_deadline()
    {
        using var server = await InteropPeerServer.StartGrpcJsAsync();
        using var channel = new RpcChannel(server.Address, new RpcChannelOptions
        {
            KeepAlivePingDelay = TimeSpan.FromSeconds(1),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(1),
        });
        using var call = channel.ServerStreaming(InteropMethods.Countdown, new CountdownRequest { From = 100_000, DelayMs = 100 },
            CallOptions.WithTimeout(TimeSpan.FromMinutes(5)));
        Assert.IsNotNull(await call.ReadNextAsync());

        Signals.Freeze(server.ProcessId);
        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            while (await call.ReadNextAsync() is not null)
            {
            }
        });

        Assert.AreEqual(StatusCode.Unavailable, ex.StatusCode, ex.Detail);
        Assert.IsLessThan(30, clock.Elapsed.TotalSeconds, "the ping timeout, not the 5-minute deadline, should end the call");
    }

    [TestMethod]
    public async Task Without_pings_the_same_freeze_is_only_ended_by_the_deadline()
    {
        using var server = await InteropPeerServer.StartGrpcJsAsync();
        using var channel = new RpcChannel(server.Address, new RpcChannelOptions { KeepAlivePingDelay = Timeout.InfiniteTimeSpan });
        using var call = channel.ServerStreaming(InteropMethods.Countdown, new CountdownRequest { From = 100_000, DelayMs = 100 },
            CallOptions.WithTimeout(TimeSpan.FromSeconds(6)));
        Assert.IsNotNull(await call.ReadNextAsync());

        Signals.Freeze(server.ProcessId);
        var ex = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
        {
            while (await call.ReadNextAsync() is not null)
            {
            }
        });

        Assert.AreEqual(StatusCode.DeadlineExceeded, ex.StatusCode, "this is what the pings in the other test save us from");
    }
}
