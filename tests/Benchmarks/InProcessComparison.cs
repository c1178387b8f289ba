using System.Diagnostics;
using System.Globalization;

namespace Hawser.Benchmarks;

/// <summary>
/// A quick side-by-side for development: the plain HTTP/2 floor and the gRPC unary call, in the
/// same process, measured in alternating blocks so machine noise hits both alike. Reports each
/// one's median p50 and their ratio. BenchmarkDotNet's figures are the ones recorded.
/// </summary>
internal static class InProcessComparison
{
    public static async Task<int> RunAsync(int rounds, int callsPerRound)
    {
        using var bench = new RpcBenchmarks();
        bench.Setup();
        try
        {
            var raw = new List<double>();
            var grpc = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                raw.Add(await P50Async(() => bench.RawHttp2RoundTrip(), callsPerRound));
                grpc.Add(await P50Async(() => bench.UnaryRoundTrip(), callsPerRound));
            }
            raw.Sort();
            grpc.Sort();
            var rawP50 = raw[raw.Count / 2];
            var grpcP50 = grpc[grpc.Count / 2];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"raw_p50_us={rawP50:F1} grpc_unary_p50_us={grpcP50:F1} ratio={grpcP50 / rawP50:F2}"));
            return 0;
        }
        finally
        {
            bench.Cleanup();
        }
    }

    private static async Task<double> P50Async(Func<Task> call, int calls)
    {
        var samples = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await call();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(samples);
        return samples[calls / 2];
    }
}
