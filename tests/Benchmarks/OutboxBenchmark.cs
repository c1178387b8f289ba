using System.Diagnostics;
using Hawser.Controller.Api;
using Hawser.Controller.Notifications;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Benchmarks;

/// <summary>
/// The notification outbox's cost on the report path: 1000 nodes each record a report that makes one
/// <c>node.converged</c> event, in alternating rounds of one store with notifications off (no router), on with no route
/// taking the event (the routing check only), and on with a route taking it (an outbox row written in the report's
/// transaction per event), so all three see the same machine.
/// </summary>
public static class OutboxBenchmark
{
    private const int Nodes = EventLogBenchmark.Nodes;

    private enum Mode { Off, OnNotRouted, OnRouted }

    /// <summary>Runs <paramref name="rounds"/> rounds of each mode and prints the medians.</summary>
    public static async Task<int> RunAsync(int rounds)
    {
        using var data = new TempDirectory("hawser-outbox-bench-");
        using var store = ControllerStore.Open(data.Path);
        await EventLogBenchmark.SeedNodesAsync(store);
        var receivers = new Dictionary<string, ReceiverSettings> { ["oncall"] = new("oncall", ReceiverFormat.Ntfy, new Uri("http://127.0.0.1:9/x"), null) };
        NotificationRouter Router(string kind) => new(new NotificationSettings { Receivers = receivers, Routes = [new RouteSettings { Name = "r", To = ["oncall"], Kinds = [kind] }] });
        var routers = new Dictionary<Mode, NotificationRouter?>
        {
            [Mode.Off] = null, [Mode.OnNotRouted] = Router("certificate.order-failed"), [Mode.OnRouted] = Router("node.converged"),
        };
        var perSecond = routers.Keys.ToDictionary(m => m, _ => new List<double>());
        ulong revision = 1;
        for (var round = 0; round < rounds * 3; round++)
        {
            var mode = (Mode)(round % 3);
            store.Outbox.Router = routers[mode];
            perSecond[mode].Add(await EventLogBenchmark.ReportRoundAsync(store, ++revision, withEvents: true));
        }
        var off = Median(perSecond[Mode.Off]);
        var notRouted = Median(perSecond[Mode.OnNotRouted]);
        var routed = Median(perSecond[Mode.OnRouted]);
        Console.WriteLine(FormattableString.Invariant(
            $"reports with one event each: {Nodes} nodes x {rounds} rounds per mode; stored per second, median: notifications off {off:0}, on but not routed {notRouted:0} ({(1 - notRouted / off) * 100:0.0}%), routed to one receiver {routed:0} ({(1 - routed / off) * 100:0.0}%)"));
        return 0;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
