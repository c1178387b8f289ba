using System.Net;
using Grpc.Core;
using Hawser.Controller.Hosting;
using Hawser.Tests.Interop;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Hawser.Benchmarks;

/// <summary>
/// The controller's gRPC host with minimal handlers on the interop methods, so the figures measure
/// the gRPC stack rather than the test service's metadata echoing.
/// </summary>
internal static class BenchServer
{
    public static Task<GrpcHost> StartAsync(int port = 0) =>
        GrpcHost.StartAsync([new GrpcListenOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, port) }],
            services => services.AddSingleton<LeanInterop>(), app => app.MapGrpcService<LeanInterop>());

    private sealed class LeanInterop : Interop.InteropBase
    {
        public override Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) => Task.FromResult(new EchoReply { Message = request.Message });

        public override async Task Countdown(CountdownRequest request, IServerStreamWriter<Count> responseStream, ServerCallContext context)
        {
            for (var value = request.From; value > 0; value--)
            {
                await responseStream.WriteAsync(new Count { Value = value });
            }
        }

        public override async Task<Total> Sum(IAsyncStreamReader<Number> requestStream, ServerCallContext context)
        {
            var total = new Total();
            await foreach (var number in requestStream.ReadAllAsync())
            {
                total.Sum += number.Value;
                total.Count++;
            }
            return total;
        }
    }
}
