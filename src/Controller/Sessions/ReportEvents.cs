using Hawser.Controller.Store;

namespace Hawser.Controller.Sessions;

/// <summary>
/// A node's previous report, reduced to what the next report's events are decided by: kept per stream, so a report is
/// compared without reading and parsing the stored one again.
/// </summary>
/// <param name="Revision">The revision the report was of.</param>
/// <param name="Failures">Its failed resources, one line each.</param>
/// <param name="InstalledCertificates">The serial installed per certificate name.</param>
public sealed record ReportDigest(ulong Revision, IReadOnlySet<string> Failures, IReadOnlyDictionary<string, string> InstalledCertificates)
{
    /// <summary>The digest of <paramref name="report"/>.</summary>
    public static ReportDigest Of(NodeReport report) => new(report.Revision, ReportEvents.Failures(report), report.InstalledCertificates);
}

/// <summary>
/// The event log's entries for one status report, compared with the node's previous report: a revision
/// converged or failed, drift put back, a certificate installed. A periodic report that changed nothing
/// and fails as before adds nothing, so the log holds what happened rather than every heartbeat.
/// </summary>
public static class ReportEvents
{
    /// <summary>The events <paramref name="report"/> makes, given the node's <paramref name="previous"/> report (null: none).</summary>
    public static IReadOnlyList<EventRecord> Of(string node, ReportDigest? previous, NodeReport report, bool driftCorrected)
    {
        var events = new List<EventRecord>();
        var actor = $"node:{node}";
        var changed = report.Resources.Where(r => r.State == ResourceOutcome.Changed).ToList();
        var failed = report.Resources.Where(r => r.IsFailed).ToList();
        var inSync = report.Count(ResourceOutcome.InSync);
        var details = changed.Select(Changed).Concat(failed.Select(r => r.FailureLine())).ToList();
        var counts = $"{changed.Count} changed, {failed.Count} failed, {inSync} in sync";
        var sameRevision = previous is not null && previous.Revision == report.Revision;
        if (driftCorrected)
        {
            events.Add(Event("node.drift-corrected", $"drift corrected on revision {report.Revision}: {changed.Count} resource(s) put back" +
                (failed.Count > 0 ? $", {failed.Count} failed" : ""), details));
        }
        else if (failed.Count > 0)
        {
            // The same failures as last time are not news; a change in them is.
            if (!sameRevision || changed.Count > 0 || !previous!.Failures.SetEquals(failed.Select(r => r.FailureLine())))
            {
                events.Add(Event("node.failed", $"revision {report.Revision} failed: {counts}", details));
            }
        }
        else if (!sameRevision || changed.Count > 0)
        {
            events.Add(Event("node.converged", $"revision {report.Revision} converged: {counts}", details));
        }
        foreach (var (name, serial) in report.InstalledCertificates)
        {
            if (serial.Length > 0 && previous?.InstalledCertificates.GetValueOrDefault(name) != serial)
            {
                events.Add(Event("certificate.installed", $"certificate {name} installed: serial {serial}", []));
            }
        }
        return events;

        EventRecord Event(string kind, string summary, IReadOnlyList<string> lines) =>
            new() { Kind = kind, Actor = actor, Node = node, Revision = report.Revision, Summary = summary, Details = lines };
    }

    /// <summary>A changed resource as one line: <c>kind:name target: from -&gt; to</c>.</summary>
    private static string Changed(ResourceReport r) => $"{r.Kind}:{r.Name} {r.Diff}".TrimEnd();

    /// <summary>The failed resources of <paramref name="report"/>, one line each.</summary>
    internal static HashSet<string> Failures(NodeReport report) =>
        report.Resources.Where(r => r.IsFailed).Select(r => r.FailureLine()).ToHashSet(StringComparer.Ordinal);
}
