using BenchmarkDotNet.Running;
using Hawser.Benchmarks;

// serve            Hawser's server with lean interop handlers, for other clients to measure against
// latency H:P N M  Hawser's client: N timed unary calls, then a stream of M messages
// compare          quick in-process A/B of the HTTP/2 floor and a unary call (for development)
// converge-breakdown  median plan time of each agent resource in the no-op converge (needs root)
// fleet N [N ...]  a controller process and N simulated agents: push latency and controller RSS per agent
// acme [ROUNDS]    apply-to-installed on three agents against Pebble, beside certbot for one host (needs root, certbot)
// rollout [ROUNDS] ten agents: a revision pushed to all at once, beside rolled out in batches of 2 (needs root)
// ui [NODES] [ROUNDS] the web UI's Nodes page with NODES nodes in headless Chromium: first contentful paint, table on screen
// ha [AGENTS ROUNDS FAILOVER FLEET]  controllers on one PostgreSQL: apply on A to arrival on B (notify, poll only), failover, a large fleet
// flood [SECONDS]  one node floods the controller while hawserctl status runs; beside a quiet window: CPU, RSS, status p50/p99
// frozen [AGENTS ROUNDS]  one simulated agent stops reading its stream while applies send it ~300 KB each: apply call and arrival at the others, beside none frozen
// eventlog [ROUNDS] the event log: 1000 reports stored without and with their events; events --since 24h on 1,000,000 events
// outbox [ROUNDS]  the notification outbox on the report path: 1000 reports (one event each) with notifications off, on but not routed, routed
// anything else    BenchmarkDotNet (e.g. --filter '*')
switch (args.FirstOrDefault())
{
    case "serve":
        await using (var server = await BenchServer.StartAsync())
        {
            Console.WriteLine($"LISTENING {server.Addresses[0].Port}");
            await Task.Delay(Timeout.Infinite);
        }
        return 0;
    case "fleet":
        return await FleetBenchmark.RunAsync([.. args.Skip(1).Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture))]);
    case "ha":
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : fallback;
        return await HaBenchmark.RunAsync(Arg(1, 200), Arg(2, 20), Arg(3, 1000), Arg(4, 10000));
    case "flood":
        return await FloodBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 30);
    case "frozen":
        return await FrozenBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200,
            args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 20);
    case "eventlog":
        return await EventLogBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10, writesOnly: args.Contains("--writes"));
    case "outbox":
        return await OutboxBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10);
    case "acme":
        return await AcmeBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 6);
    case "rollout":
        return await RolloutBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
    case "ui":
        return await UiBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000,
            args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5);
    case "converge-breakdown":
        return await AgentConvergeBenchmarks.BreakdownAsync(rounds: 300);
    case "compare":
        return await InProcessComparison.RunAsync(rounds: 20, callsPerRound: 2000);
    case "latency":
        return await LatencyLoop.RunAsync(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture));
    default:
        BenchmarkSwitcher.FromAssembly(typeof(RpcBenchmarks).Assembly).Run(args);
        return 0;
}
