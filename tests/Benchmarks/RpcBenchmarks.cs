using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Hawser.Controller.Hosting;
using Hawser.Shared.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Benchmarks;

/// <summary>In-process: Hawser's client (Grpc.Net.Client) calling the controller's gRPC host (Grpc.AspNetCore) over h2c on loopback.</summary>
[Config(typeof(Config))]
public class RpcBenchmarks : IDisposable
{
    /// <summary>Messages per streaming operation.</summary>
    public const int StreamMessages = 10_000;

    private GrpcHost _server = null!;
    private GrpcChannel _channel = null!;
    private Interop.InteropClient _client = null!;
    private GrpcHost _rawHost = null!;
    private HttpClient _rawClient = null!;
    private Uri _rawUri = null!;
    private Uri _rawTrailerUri = null!;
    private static readonly byte[] RawBody = new EchoRequest { Message = "ping" }.ToByteArray();
    private readonly EchoRequest _echo = new() { Message = "ping" };

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            // In-process: BenchmarkDotNet 0.14 does not know net10.0 as a separate-process toolchain.
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance));
            AddColumn(StatisticColumn.P50, StatisticColumn.P90, StatisticColumn.P95);
            AddDiagnoser(MemoryDiagnoser.Default);
        }
    }

    // Synchronous on purpose: BenchmarkDotNet 0.14's in-process toolchain starts measuring
    // before an async [GlobalSetup] has finished.
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _server = await BenchServer.StartAsync();
        _channel = ControllerChannel.Create(_server.Addresses[0]);
        _client = new Interop.InteropClient(_channel);
        await _client.EchoAsync(_echo);

        // The floor: the same Kestrel and SocketsHttpHandler, h2c POST and echo, no gRPC layer.
        _rawHost = await GrpcHost.StartAsync([new GrpcListenOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0) }], null,
            app => app.Run(async context =>
            {
                var body = new byte[64];
                var read = await context.Request.Body.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false);
                await context.Response.Body.WriteAsync(body.AsMemory(0, read));
                if (context.Request.Path == "/echo-trailer")
                {
                    context.Response.AppendTrailer("grpc-status", "0");
                }
            }));
        _rawUri = new Uri(_rawHost.Addresses[0], "/echo");
        _rawTrailerUri = new Uri(_rawHost.Addresses[0], "/echo-trailer");
        _rawClient = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        await RawHttp2RoundTrip();
    }

    private async Task CleanupAsync()
    {
        Dispose();
        await _server.DisposeAsync();
        await _rawHost.DisposeAsync();
    }

    public void Dispose()
    {
        _channel?.Dispose();
        _rawClient?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Plain HTTP/2 POST and echo on the same stacks: what the gRPC layer's cost is measured against.</summary>
    [Benchmark(Baseline = true)]
    public async Task<int> RawHttp2RoundTrip()
    {
        using var content = new ByteArrayContent(RawBody);
        using var response = await _rawClient.PostAsync(_rawUri, content);
        return (await response.Content.ReadAsByteArrayAsync()).Length;
    }

    /// <summary>The same plain round trip with one trailer, as every gRPC response has: the protocol's own floor.</summary>
    [Benchmark]
    public async Task<int> RawHttp2WithTrailerRoundTrip()
    {
        using var content = new ByteArrayContent(RawBody);
        using var response = await _rawClient.PostAsync(_rawTrailerUri, content);
        var length = (await response.Content.ReadAsByteArrayAsync()).Length;
        return response.TrailingHeaders.Contains("grpc-status") ? length : -1;
    }

    /// <summary>One unary round trip with a small message.</summary>
    [Benchmark]
    public Task<EchoReply> UnaryRoundTrip() => _client.EchoAsync(_echo).ResponseAsync;

    /// <summary>Server streaming; the reported time is per message.</summary>
    [Benchmark(OperationsPerInvoke = StreamMessages)]
    public async Task<int> ServerStreamingPerMessage()
    {
        using var call = _client.Countdown(new CountdownRequest { From = StreamMessages });
        var received = 0;
        await foreach (var _ in call.ResponseStream.ReadAllAsync())
        {
            received++;
        }
        return received;
    }

    /// <summary>Client streaming; the reported time is per message.</summary>
    [Benchmark(OperationsPerInvoke = StreamMessages)]
    public async Task<long> ClientStreamingPerMessage()
    {
        using var call = _client.Sum();
        var number = new Number { Value = 1 };
        for (var i = 0; i < StreamMessages; i++)
        {
            await call.RequestStream.WriteAsync(number);
        }
        await call.RequestStream.CompleteAsync();
        return (await call.ResponseAsync).Sum;
    }
}
