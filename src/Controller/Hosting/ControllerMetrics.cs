using System.Diagnostics;
using System.Diagnostics.Metrics;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Hosting;

/// <summary>
/// The controller's metrics, as .NET <see cref="Meter"/> instruments (exported in Prometheus's text format at
/// <c>/metrics</c>). Fleet gauges are read from the store when scraped (<see cref="RefreshAsync"/>, before the exporter
/// collects: its callbacks are synchronous and must not wait on the database), so they are never stale; counters come
/// from the event log as events are stored, and RPCs from <see cref="Api.MetricsInterceptor"/>.
/// </summary>
public sealed class ControllerMetrics : IDisposable
{
    /// <summary>The meter's name, for the exporter to listen to.</summary>
    public const string MeterName = "Hawser.Controller";

    private static readonly string[] States = ["in-sync", "pending", "failed", "offline", "new"];

    private readonly Meter _meter = new(MeterName);
    private readonly ControllerStore _store;
    private readonly AgentSessions _sessions;
    private readonly Counter<long> _drift;
    private readonly Counter<long> _orderFailures;
    private readonly Counter<long> _events;
    private readonly Histogram<double> _rpcDuration;
    private readonly Counter<long> _leasesLost;

    /// <summary>Creates the instruments and starts counting the store's events.</summary>
    public ControllerMetrics(ControllerStore store, AgentSessions sessions, BackgroundJobs? jobs = null)
    {
        _store = store;
        _sessions = sessions;
        _drift = _meter.CreateCounter<long>("hawser_drift_corrections", description: "Drift corrections reported, per node.");
        _orderFailures = _meter.CreateCounter<long>("hawser_certificate_order_failures", description: "Failed ACME orders, per certificate.");
        _events = _meter.CreateCounter<long>("hawser_events", description: "Events stored in the event log, per kind.");
        _rpcDuration = _meter.CreateHistogram<double>("hawser_rpc_duration", unit: "s", description: "gRPC calls served, by method and status code, with their latency.");
        _meter.CreateObservableGauge("hawser_agents_connected", () => _sessions.ConnectedCount, description: "Agents with a stream open to this controller.");
        _meter.CreateObservableGauge("hawser_nodes", NodesByState, description: "Enrolled nodes, by state (in-sync, pending, failed, offline, new).");
        _meter.CreateObservableGauge("hawser_node_state", NodeStates, description: "1 for each node's state (in-sync, pending, failed, offline, new).");
        _leasesLost = _meter.CreateCounter<long>("hawser_leases_lost", description: "Leases this controller held and lost (another controller took one, or the store was unreachable for a term).");
        _meter.CreateObservableGauge("hawser_controller_serving", () => jobs is null || jobs.Problems.Count == 0 ? 1 : 0,
            description: "1 while every loop of this controller runs (its health service says SERVING), 0 while one is down.");
        _meter.CreateObservableGauge("hawser_node_last_report_age", ReportAges, unit: "s", description: "Seconds since each node's last status report.");
        _meter.CreateObservableGauge("hawser_certificate_not_after", CertificateExpiries, unit: "s",
            description: "Unix time at which each certificate expires, per node whose last report has it installed.");
        _meter.CreateObservableGauge("hawser_certificate_not_before", CertificateStarts, unit: "s",
            description: "Unix time from which each certificate is valid, per node whose last report has it installed (with not_after: its lifetime).");
        _meter.CreateObservableGauge("hawser_certificate_served_not_before", ServedStarts, unit: "s",
            description: "Unix time from which the certificate each node's server serves is valid, per certificate, node and address.");
        _meter.CreateObservableGauge("hawser_certificate_served_not_after", ServedExpiries, unit: "s",
            description: "Unix time at which the certificate each node's server serves expires, per certificate, node and address the agent checked.");
        _meter.CreateObservableGauge("hawser_rollout_state", RolloutStates, description: "1 for the newest rollout's state (running, paused, rolling-back, done, aborted, rolled-back).");
        _meter.CreateObservableGauge("hawser_rollout_batch", RolloutBatch, description: "The newest rollout's current batch (1-based; equals batches when all moved).");
        store.Events.Added += Count;
        store.Leases.LostLease += CountLost;
    }

    // Counters start at 0 for every label value known (Prometheus's advice): increase() then sees the first event, and
    // a dashboard's query names a series that exists before anything went wrong.
    private readonly HashSet<string> _countedNodes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _countedCertificates = new(StringComparer.Ordinal);
    private bool _leasesStarted;

    private void StartCounters(Snapshot snapshot)
    {
        lock (_countedNodes)
        {
            // On the first scrape, not at construction: a measurement made before the exporter listens is lost.
            if (!_leasesStarted)
            {
                _leasesStarted = true;
                foreach (var lease in new[] { "rollout", "certificate", Notifications.NotificationSender.LeaseName })
                {
                    _leasesLost.Add(0, new KeyValuePair<string, object?>("lease", lease));
                }
            }
            foreach (var node in snapshot.Nodes.Where(n => _countedNodes.Add(n.Name)))
            {
                _drift.Add(0, new KeyValuePair<string, object?>("node", node.Name));
            }
            foreach (var certificate in snapshot.Issued.Where(c => _countedCertificates.Add(c.Name)))
            {
                _orderFailures.Add(0, new KeyValuePair<string, object?>("certificate", certificate.Name));
            }
        }
    }

    private void CountLost(string lease) =>
        // certificate:NAME and rollout:ID by kind only, so the series stay few; a controller's own lease by its id.
        _leasesLost.Add(1, new KeyValuePair<string, object?>("lease", lease.Split(':')[0] is "certificate" or "rollout" ? lease.Split(':')[0] : lease));

    /// <summary>What the fleet gauges show, read by <see cref="RefreshAsync"/>.</summary>
    private sealed record Snapshot(IReadOnlyList<NodeRecord> Nodes, IReadOnlyList<IssuedCertificateRecord> Issued, Rollouts.RolloutRecord? Latest);

    private Snapshot _snapshot = new([], [], null);

    /// <summary>Reads what the fleet gauges show from the store; called for each scrape before the exporter collects.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var nodes = await _store.Nodes.ListAsync(cancellationToken);
        var issued = await _store.Certificates.ListAsync(cancellationToken);
        var latest = await _store.Rollouts.ListAsync(1, cancellationToken) is [var rollout] ? rollout : null;
        _snapshot = new Snapshot(nodes, issued, latest);
        StartCounters(_snapshot);
    }

    /// <summary>Records one gRPC call served.</summary>
    public void RecordRpc(string method, Grpc.Core.StatusCode code, TimeSpan elapsed) =>
        _rpcDuration.Record(elapsed.TotalSeconds, new TagList { { "method", method }, { "code", code.ToString() } });

    private void Count(IReadOnlyList<EventRecord> records)
    {
        foreach (var record in records)
        {
            _events.Add(1, new KeyValuePair<string, object?>("kind", record.Kind));
            if (record.Kind == "node.drift-corrected")
            {
                _drift.Add(1, new KeyValuePair<string, object?>("node", record.Node));
            }
            else if (record.Kind == "certificate.order-failed")
            {
                // "certificate NAME: the order failed"
                var name = record.Summary.Split(' ', 3) is [_, var certificate, ..] ? certificate.TrimEnd(':') : "";
                _orderFailures.Add(1, new KeyValuePair<string, object?>("certificate", name));
            }
        }
    }

    private IEnumerable<Measurement<int>> NodesByState()
    {
        var counts = States.ToDictionary(s => s, _ => 0, StringComparer.Ordinal);
        foreach (var (_, state) in StateOfEach())
        {
            counts[state] = counts.GetValueOrDefault(state) + 1;
        }
        return counts.Select(c => new Measurement<int>(c.Value, new KeyValuePair<string, object?>("state", c.Key)));
    }

    private IEnumerable<Measurement<int>> NodeStates() => StateOfEach().Select(n =>
        new Measurement<int>(1, new KeyValuePair<string, object?>("node", n.Node), new KeyValuePair<string, object?>("state", n.State)));

    private IEnumerable<(string Node, string State)> StateOfEach() => _snapshot.Nodes.Select(node => (node.Name,
        StateWords.Node(_sessions.IsConnected(node), node.LastReport is not null, node.LastReport?.AnyFailed == true,
            node.AppliedRevision, node.DesiredRevision)));

    private IEnumerable<Measurement<double>> ReportAges()
    {
        var now = DateTimeOffset.UtcNow;
        return _snapshot.Nodes.Where(n => n.LastReportAt is not null)
            .Select(n => new Measurement<double>((now - n.LastReportAt!.Value).TotalSeconds, new KeyValuePair<string, object?>("node", n.Name)));
    }

    private IEnumerable<Measurement<long>> CertificateExpiries() => Installed(c => c.NotAfter);

    private IEnumerable<Measurement<long>> CertificateStarts() => Installed(c => c.NotBefore);

    /// <summary>A time of each certificate, per node whose last report has the controller's current serial installed.</summary>
    private IEnumerable<Measurement<long>> Installed(Func<IssuedCertificateRecord, DateTimeOffset?> time)
    {
        var snapshot = _snapshot;
        var issued = snapshot.Issued.Where(c => c.Serial is not null && time(c) is not null).ToDictionary(c => c.Name, StringComparer.Ordinal);
        foreach (var node in snapshot.Nodes)
        {
            if (node.LastReport is not { } report)
            {
                continue;
            }
            foreach (var (name, serial) in report.InstalledCertificates)
            {
                if (issued.TryGetValue(name, out var certificate) && certificate.Serial == serial)
                {
                    yield return new Measurement<long>(time(certificate)!.Value.ToUnixTimeSeconds(),
                        new KeyValuePair<string, object?>("certificate", name), new KeyValuePair<string, object?>("node", node.Name));
                }
            }
        }
    }

    private IEnumerable<Measurement<long>> ServedExpiries() => Served(s => s.NotAfter);

    private IEnumerable<Measurement<long>> ServedStarts() => Served(s => s.NotBefore);

    private IEnumerable<Measurement<long>> Served(Func<ServedCertificateReport, DateTimeOffset?> time) =>
        from node in _snapshot.Nodes
        where node.LastReport is not null
        from served in node.LastReport!.Served
        where time(served) is not null
        select new Measurement<long>(time(served)!.Value.ToUnixTimeSeconds(), new KeyValuePair<string, object?>("certificate", served.Certificate),
            new KeyValuePair<string, object?>("node", node.Name), new KeyValuePair<string, object?>("target", served.Target));

    private IEnumerable<Measurement<int>> RolloutStates() => _snapshot.Latest is { } rollout
        ? [new Measurement<int>(1, new KeyValuePair<string, object?>("id", rollout.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new KeyValuePair<string, object?>("state", Rollouts.RolloutWords.Of(rollout.State)))]
        : [];

    private IEnumerable<Measurement<long>> RolloutBatch() => _snapshot.Latest is { } rollout
        ? [new Measurement<long>(Math.Min(rollout.Batch + 1, rollout.Batches), new KeyValuePair<string, object?>("id", rollout.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)))]
        : [];

    /// <inheritdoc/>
    public void Dispose()
    {
        _store.Events.Added -= Count;
        _store.Leases.LostLease -= CountLost;
        _meter.Dispose();
    }
}
