using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Hawser.Controller.Api;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;
using Microsoft.Data.Sqlite;

namespace Hawser.Benchmarks;

/// <summary>
/// The event log's costs. Writes: 1000 nodes each report once (a converge that changed one resource, as after an apply),
/// stored without and with the events the report makes, in alternating rounds of one store, so both sides see the same
/// machine. Reads: a store holding 1,000,000 events over 90 days, queried for the last 24 hours, in process and as the
/// whole <c>hawserctl events --since 24h</c> command against a controller on that store.
/// </summary>
public static class EventLogBenchmark
{
    /// <summary>Nodes that report in each round.</summary>
    internal const int Nodes = 1000;

    /// <summary>Runs both parts (or only the writes).</summary>
    public static async Task<int> RunAsync(int rounds, bool writesOnly = false)
    {
        await WritesAsync(rounds);
        if (!writesOnly)
        {
            await ReadsAsync();
        }
        return 0;
    }

    private static async Task WritesAsync(int rounds)
    {
        using var data = new TempDirectory("hawser-eventlog-bench-");
        using var store = ControllerStore.Open(data.Path);
        await SeedNodesAsync(store);
        var without = new List<double>();
        var with = new List<double>();
        ulong revision = 1;
        for (var round = 0; round < rounds * 2; round++)
        {
            var logged = round % 2 == 1;
            (logged ? with : without).Add(await ReportRoundAsync(store, ++revision, logged));
        }
        var medianWithout = Median(without);
        var medianWith = Median(with);
        Console.WriteLine(FormattableString.Invariant(
            $"reports: {Nodes} nodes x {rounds} rounds each way; stored per second, median: without the log {medianWithout:0}, with it {medianWith:0}; the log costs {(1 - medianWith / medianWithout) * 100:0.0}%"));
    }

    /// <summary>Enrols the benchmark's <see cref="Nodes"/> nodes (node0000...) in <paramref name="store"/>.</summary>
    internal static async Task SeedNodesAsync(ControllerStore store)
    {
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < Nodes; i++)
        {
            await store.Nodes.UpsertAsync(new NodeRecord
            {
                Name = $"node{i:0000}", Labels = new Dictionary<string, string>(), AgentVersion = "bench", FirstSeen = now, LastSeen = now, DesiredRevision = 1, AppliedRevision = 0,
            });
        }
    }

    /// <summary>
    /// Every node records a report of <paramref name="revision"/> that changed one resource (with the event it makes when
    /// <paramref name="withEvents"/>); returns the reports stored per second.
    /// </summary>
    internal static async Task<double> ReportRoundAsync(ControllerStore store, ulong revision, bool withEvents)
    {
        var report = new StatusReport { Revision = revision };
        report.Resources.Add(new ResourceStatus { Kind = "sysctl", Name = "net.ipv4.tcp_keepalive_time", State = ResourceState.Changed, Diff = "7200 -> 600" });
        report.Resources.Add(new ResourceStatus { Kind = "ufw", Name = "forward-policy", State = ResourceState.InSync });
        var kept = ReportWire.Report(report);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < Nodes; i++)
        {
            var node = $"node{i:0000}";
            // As AgentSessions.Receive does: the events come from comparing with the previous report.
            var events = withEvents ? ReportEvents.Of(node, null, kept, driftCorrected: false) : null;
            await store.Nodes.RecordReportAsync(node, revision, kept, driftCorrected: false, events);
        }
        return Nodes / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static async Task ReadsAsync()
    {
        using var data = new TempDirectory("hawser-eventlog-bench-");
        var init = await HawserProcesses.RunAsync("hawser-controller", ["init", "--data", data.Path]);
        if (init.ExitCode != 0)
        {
            throw new InvalidOperationException(init.Output);
        }
        // Open once so the schema exists, then fill the table directly: a million events over 90 days, about 11,000 a day.
        ControllerStore.Open(data.Path).Dispose();
        const int total = 1_000_000;
        var now = DateTimeOffset.UtcNow;
        var span = TimeSpan.FromDays(90).TotalMilliseconds;
        var fill = Stopwatch.StartNew();
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(data.Path, ControllerStore.DatabaseFileName)}"))
        {
            connection.Open();
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO events (at_ms, kind, actor, node, revision, summary, details) VALUES ($at, 'node.converged', $actor, $node, 7, 'revision 7 converged: 1 changed, 0 failed, 4 in sync', 'sysctl:net.ipv4.tcp_keepalive_time 7200 -> 600')";
            var at = command.Parameters.Add("$at", SqliteType.Integer);
            var actor = command.Parameters.Add("$actor", SqliteType.Text);
            var node = command.Parameters.Add("$node", SqliteType.Text);
            for (var i = 0; i < total; i++)
            {
                at.Value = (now - TimeSpan.FromMilliseconds(span * (total - i) / total)).ToUnixTimeMilliseconds();
                node.Value = $"node{i % Nodes:0000}";
                actor.Value = $"node:node{i % Nodes:0000}";
                command.ExecuteNonQuery();
            }
            transaction.Commit();
        }
        Console.WriteLine($"filled {total:N0} events in {fill.Elapsed.TotalSeconds:0.0} s");

        using (var store = ControllerStore.Open(data.Path))
        {
            var query = new EventQuery { Since = now - TimeSpan.FromHours(24) };
            await store.Events.ListAsync(query);
            var times = new List<double>();
            for (var i = 0; i < 20; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var listed = await store.Events.ListAsync(query);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (listed.Count != 200)
                {
                    throw new InvalidOperationException($"expected the newest 200, got {listed.Count}");
                }
            }
            Console.WriteLine(FormattableString.Invariant($"in process: ListEvents(since 24h, newest 200) median {Median(times):0.00} ms, max {times.Max():0.00} ms"));
        }

        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var whole = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var result = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "events", "--since", "24h", "-o", "json"]);
            whole.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException(result.Output);
            }
        }
        var status = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "revisions", "-o", "json"]);
            status.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        Console.WriteLine(FormattableString.Invariant(
            $"whole process (dotnet hawserctl.dll): events --since 24h median {Median(whole):0} ms; beside it, revisions (a query of nothing) median {Median(status):0} ms"));
        // The release binary (NativeAOT, packaging/build-release.sh), when given: what an operator runs.
        if (Environment.GetEnvironmentVariable("HAWSERCTL_NATIVE") is { Length: > 0 } native)
        {
            var nativeTimes = new List<double>();
            for (var i = 0; i < 10; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var result = await ExternalProcess.RunAsync(native, ["--config", controller.CtlConfig, "events", "--since", "24h", "-o", "json"]);
                nativeTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (result.ExitCode != 0)
                {
                    throw new InvalidOperationException(result.Output);
                }
            }
            Console.WriteLine(FormattableString.Invariant($"whole process ({native}, NativeAOT): events --since 24h median {Median(nativeTimes):0} ms, max {nativeTimes.Max():0} ms"));
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
