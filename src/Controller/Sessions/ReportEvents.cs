using Hawser.Controller.Store;

namespace Hawser.Controller.Sessions;

/// <summary>
/// A node's previous report, reduced to what the next report's events are decided by: kept per stream, so a report is
/// compared without reading and parsing the stored one again.
/// </summary>
/// <param name="Revision">The revision the report was of.</param>
/// <param name="Failures">Its failed resources, one line each.</param>
/// <param name="InstalledCertificates">The serial installed per certificate name.</param>
/// <param name="Served">What its servers served, by certificate and address.</param>
/// <param name="At">When the digest was made (a served leaf's age is judged as of then).</param>
public sealed record ReportDigest(ulong Revision, IReadOnlySet<string> Failures, IReadOnlyDictionary<string, string> InstalledCertificates,
    IReadOnlyList<ServedCertificateReport> Served, DateTimeOffset At)
{
    /// <summary>The digest of <paramref name="report"/>, now.</summary>
    public static ReportDigest Of(NodeReport report) => new(report.Revision, ReportEvents.Failures(report), report.InstalledCertificates, report.Served, DateTimeOffset.UtcNow);
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
        // A certificate the controller is still obtaining is waited for, not failed: the node did its part.
        var failed = report.Resources.Where(r => r.IsFailed && !r.AwaitsCertificateMaterial).ToList();
        var waiting = report.Resources.Where(r => r.AwaitsCertificateMaterial).ToList();
        var inSync = report.Count(ResourceOutcome.InSync);
        var details = changed.Select(Changed).Concat(failed.Select(r => r.FailureLine()))
            .Concat(waiting.Select(r => $"{r.Kind}:{r.Name} waiting for the controller to obtain it")).ToList();
        var counts = $"{changed.Count} changed, {failed.Count} failed, {inSync} in sync" + (waiting.Count > 0 ? $", {waiting.Count} waiting for a certificate" : "");
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
        events.AddRange(Served(previous, report, DateTimeOffset.UtcNow).Select(e => Event(e.Kind, e.Summary, [])));
        return events;

        EventRecord Event(string kind, string summary, IReadOnlyList<string> lines) =>
            new() { Kind = kind, Actor = actor, Node = node, Revision = report.Revision, Summary = summary, Details = lines };
    }

    /// <summary>
    /// What changed in what the node's servers serve: a server that serves another certificate than the one installed
    /// (it missed a reload), one that serves the installed one again, and a served leaf in the last sixth of its life
    /// (whatever the controller holds: that is what clients get). Each is said once, when it starts.
    /// </summary>
    private static IEnumerable<(string Kind, string Summary)> Served(ReportDigest? previous, NodeReport report, DateTimeOffset now)
    {
        foreach (var served in report.Served.Where(s => s.Serial.Length > 0))
        {
            var before = previous?.Served.FirstOrDefault(p => p.Certificate == served.Certificate && p.Target == served.Target);
            var installed = report.InstalledCertificates.GetValueOrDefault(served.Certificate) ?? "";
            var mismatch = served.CoversName && installed.Length > 0 && served.Serial != installed;
            if (mismatch && (before?.Serial != served.Serial || previous?.InstalledCertificates.GetValueOrDefault(served.Certificate) != installed))
            {
                yield return ("certificate.not-served", $"certificate {served.Certificate}: {served.Target} serves {served.Serial}, installed {installed} (not reloaded?)");
            }
            else if (!mismatch && served.Serial == installed && before?.Serial != served.Serial)
            {
                yield return ("certificate.served", $"certificate {served.Certificate}: {served.Target} serves serial {served.Serial}");
            }
            if (served.InLastSixth(now) && (before?.Serial != served.Serial || !before.InLastSixth(previous!.At)))
            {
                yield return ("certificate.served-expiring", $"warning: certificate {served.Certificate}: {served.Target} serves serial {served.Serial}, "
                    + $"which ends {served.NotAfter:yyyy-MM-dd HH:mm:ss}Z, in the last sixth of its life");
            }
        }
    }

    /// <summary>A changed resource as one line: <c>kind:name target: from -&gt; to</c>.</summary>
    private static string Changed(ResourceReport r) => $"{r.Kind}:{r.Name} {r.Diff}".TrimEnd();

    /// <summary>The failed resources of <paramref name="report"/>, one line each.</summary>
    internal static HashSet<string> Failures(NodeReport report) =>
        report.Resources.Where(r => r.IsFailed && !r.AwaitsCertificateMaterial).Select(r => r.FailureLine()).ToHashSet(StringComparer.Ordinal);
}
