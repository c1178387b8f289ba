using System.Globalization;
using System.Text;
using Hawser.Agent.HostServices;
using Hawser.Agent.Kinds.Certificates;
using Hawser.Agent.Output;
using Hawser.Shared.IO;
using Hawser.Shared.Protocol.V1;
using Microsoft.Extensions.Logging;

namespace Hawser.Agent.Fleet;

/// <summary>
/// The agent's metrics as a file for node_exporter's textfile collector (agent.yaml <c>textfileCollector: DIR</c>): the
/// host's Prometheus gets them on node_exporter's port, with no port of the agent's own. Rewritten atomically (a temporary
/// file renamed, never through a link) after every converge and when the controller connection comes or goes.
/// </summary>
public sealed class NodeExporterTextfile(string directory, WritableArea area, ILogger log)
{
    /// <summary>The file's name in the collector's directory (the collector reads <c>*.prom</c>).</summary>
    public const string FileName = "hawser.prom";

    // 0644: node_exporter runs as its own user.
    private const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private readonly Lock _lock = new();
    private StatusReport? _last;
    private IReadOnlyList<InstalledLeaf> _installed = [];
    private long _drift;
    private bool _connected;
    private string? _failing;

    /// <summary>The host path written.</summary>
    public string HostPath { get; } = directory.TrimEnd('/') + "/" + FileName;

    /// <summary>Records a converge's report (a drift correction when it was not of a new state and changed something) and writes the file.</summary>
    public void Converged(StatusReport report, IReadOnlyList<InstalledLeaf> installed)
    {
        lock (_lock)
        {
            _last = report;
            _installed = installed;
            if (!report.DesiredStateNew && report.Resources.Any(r => r.State == ResourceState.Changed))
            {
                _drift++;
            }
            Write();
        }
    }

    /// <summary>Records whether a stream to the controller is open and writes the file.</summary>
    public void Connected(bool connected)
    {
        lock (_lock)
        {
            _connected = connected;
            Write();
        }
    }

    private void Write()
    {
        try
        {
            AtomicFile.Write(area.ForWrite(HostPath), Encoding.UTF8.GetBytes(Render()), Readable, noSymlinks: true);
            _failing = null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Reconcile.ResourceException)
        {
            // Metrics are not worth failing a converge for; said once, not on every round.
            if (_failing != ex.Message)
            {
                _failing = ex.Message;
                AgentLog.TextfileFailed(log, HostPath, ex.Message);
            }
        }
    }

    /// <summary>The file's text, in Prometheus's text exposition format.</summary>
    public string Render()
    {
        var text = new StringBuilder();
        Metric(text, "hawser_agent_controller_connected", "gauge", "1 while the agent has a stream open to a controller.", [("", _connected ? 1 : 0)]);
        Metric(text, "hawser_agent_drift_corrections_total", "counter", "Converges since the agent started that put back drift (changed something the applied revision already had).", [("", _drift)]);
        if (_last is not { } report)
        {
            return text.ToString();
        }
        var finished = report.FinishedAt?.ToDateTimeOffset() ?? DateTimeOffset.UtcNow;
        Metric(text, "hawser_agent_last_converge_timestamp_seconds", "gauge", "When the last converge finished (Unix time).", [("", finished.ToUnixTimeMilliseconds() / 1000.0)]);
        Metric(text, "hawser_agent_last_converge_success", "gauge", "1 when the last converge left nothing failed.",
            [("", report.Resources.Any(r => Shared.Protocol.StateWords.IsFailed(r.State)) ? 0 : 1)]);
        Metric(text, "hawser_agent_revision", "gauge", "The revision the last converge was of.", [("", report.Revision)]);
        var states = new[] { ("in-sync", ResourceState.InSync), ("changed", ResourceState.Changed), ("failed", ResourceState.Failed), ("skipped", ResourceState.Skipped) };
        Metric(text, "hawser_agent_resources", "gauge", "Resources by state in the last converge.",
            [.. states.Select(s => (Labels(("state", s.Item1)), (double)report.Resources.Count(r => r.State == s.Item2)))]);
        Metric(text, "hawser_agent_certificate_not_after_seconds", "gauge", "When the leaf installed for each certificate expires (Unix time).",
            [.. _installed.Select(c => (Labels(("certificate", c.Certificate)), (double)c.NotAfter.ToUnixTimeSeconds()))]);
        Metric(text, "hawser_agent_certificate_served_not_after_seconds", "gauge", "When the leaf each certificate's server serves expires (Unix time), per address checked.",
            [.. report.ServedCertificates.Where(s => s.NotAfter is not null)
                .Select(s => (Labels(("certificate", s.Certificate), ("target", s.Target)), (double)s.NotAfter.ToDateTimeOffset().ToUnixTimeSeconds()))]);
        return text.ToString();
    }

    private static void Metric(StringBuilder text, string name, string type, string help, IReadOnlyList<(string Labels, double Value)> samples)
    {
        if (samples.Count == 0)
        {
            return;
        }
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        foreach (var (labels, value) in samples)
        {
            text.Append(name).Append(labels).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private static string Labels(params (string Name, string Value)[] labels) =>
        "{" + string.Join(",", labels.Select(l => $"{l.Name}=\"{Escape(l.Value)}\"")) + "}";

    // The text format's label escapes: backslash, double quote and line feed.
    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
