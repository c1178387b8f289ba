using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Hawser.Shared.Transport;
using Hawser.Tests.Interop;
using Hawser.TestSupport;

namespace Hawser.Benchmarks;

/// <summary>
/// The same measurement as tests/interop/bench.js, from Hawser's client: sequential unary calls
/// timed one by one (percentiles), then one server stream (messages per second).
/// </summary>
internal static class LatencyLoop
{
    public static async Task<int> RunAsync(string hostPort, int calls, int streamMessages)
    {
        using var channel = ControllerChannel.Create(new Uri($"http://{hostPort}/"));
        var client = new Interop.InteropClient(channel);
        var request = new EchoRequest { Message = "ping" };
        for (var i = 0; i < 1000; i++)
        {
            await client.EchoAsync(request);
        }
        var samples = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await client.EchoAsync(request);
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(samples);

        var clock = Stopwatch.StartNew();
        using var call = client.Countdown(new CountdownRequest { From = streamMessages });
        var received = 0;
        await foreach (var _ in call.ResponseStream.ReadAllAsync())
        {
            received++;
        }
        var rate = received / clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"client=hawser calls={calls} p50_us={Pct(samples, 50):F1} p90_us={Pct(samples, 90):F1} p99_us={Pct(samples, 99):F1} stream_msgs_per_s={rate:F0}"));
        return 0;
    }

    private static double Pct(double[] sorted, int percent) => sorted[Math.Min(sorted.Length - 1, sorted.Length * percent / 100)];
}
