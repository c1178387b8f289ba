using System.Globalization;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Sessions;

/// <summary>
/// The trust boundary for what a node says about itself: every field of a hello and a status report gets a length
/// bound, and a whole report a size bound well under the gRPC message limit, before anything is stored or shown.
/// A node is not an operator; a compromised or buggy agent must not be able to make one operator's listing too
/// large to send. Cut text keeps its start and says what was cut (<see cref="Cut"/>), so nothing is lost silently.
/// </summary>
public static class NodeInputBounds
{
    /// <summary>Largest message the agent stream accepts from a node (the gRPC limit for that one service).</summary>
    public const int MaxAgentMessageBytes = 1024 * 1024;

    /// <summary>Largest report kept after every field is bounded; resources beyond it are dropped, and one line says so.</summary>
    public const int MaxReportBytes = 128 * 1024;

    // What the line saying resources were dropped can take.
    private const int DroppedLineBytes = 1024;

    /// <summary>Most resources one report may list.</summary>
    public const int MaxResources = 1000;

    /// <summary>A resource's kind.</summary>
    public const int MaxKindChars = 32;

    /// <summary>A resource's name (a file path, a sysctl key, a rule).</summary>
    public const int MaxNameChars = 256;

    /// <summary>A resource's diff or error.</summary>
    public const int MaxTextChars = 2048;

    /// <summary>Most warnings kept per resource, and each one's length.</summary>
    public const int MaxWarnings = 8, MaxWarningChars = 512;

    /// <summary>Most installed certificates one report may name, and the lengths of a name and a serial.</summary>
    public const int MaxCertificates = 256, MaxCertificateNameChars = 64, MaxSerialChars = 128;

    /// <summary>A served certificate's address (HOST:PORT).</summary>
    public const int MaxTargetChars = 270;

    /// <summary>Most served certificates one report may list (one per certificate and address checked); with the installed ones, well inside <see cref="MaxReportBytes"/>.</summary>
    public const int MaxServed = 64;

    /// <summary>Spans of one traced converge (the converge's and one per resource); a W3C traceparent is 55 characters.</summary>
    public const int MaxSpans = 256, MaxTraceParentChars = 64;

    /// <summary>The agent version a hello names, and the host facts' strings.</summary>
    public const int MaxVersionChars = 64, MaxFactChars = 256;

    /// <summary>Most network interfaces a hello lists, and addresses per interface.</summary>
    public const int MaxInterfaces = 64, MaxAddresses = 32;

    /// <summary>How <see cref="Cut"/> marks cut text (and how a reader finds out the text was cut).</summary>
    public const string CutMarker = "… [cut by the controller: ";

    /// <summary>
    /// <paramref name="text"/> when it has at most <paramref name="max"/> characters; else its start and a marker
    /// naming the original length, in at most <paramref name="max"/> characters marker included (so cutting again,
    /// where a stored report is read, changes nothing).
    /// </summary>
    public static string Cut(string text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }
        var marker = string.Concat(CutMarker, text.Length.ToString("N0", CultureInfo.InvariantCulture), " characters sent]");
        if (marker.Length * 2 > max)
        {
            // A short field (a kind, a certificate name): its start and an ellipsis, no room to say more.
            marker = "…";
        }
        var keep = Math.Max(0, max - marker.Length);
        // Never split a surrogate pair: half of one is not text.
        if (keep > 0 && char.IsHighSurrogate(text[keep - 1]))
        {
            keep--;
        }
        return string.Concat(text.AsSpan(0, keep), marker);
    }

    /// <summary>A bounded copy of <paramref name="report"/>; the original is left as it was.</summary>
    public static StatusReport Bound(StatusReport report)
    {
        var bounded = new StatusReport
        {
            Revision = report.Revision, DryRun = report.DryRun, FinishedAt = Time(report.FinishedAt), InReplyTo = report.InReplyTo,
            DesiredStateNew = report.DesiredStateNew, NeedsDesiredState = report.NeedsDesiredState,
        };
        foreach (var (name, serial) in report.InstalledCertificates.Take(MaxCertificates))
        {
            bounded.InstalledCertificates[Cut(name, MaxCertificateNameChars)] = Cut(serial, MaxSerialChars);
        }
        foreach (var served in report.ServedCertificates.Take(MaxServed))
        {
            bounded.ServedCertificates.Add(new ServedCertificate
            {
                Certificate = Cut(served.Certificate, MaxCertificateNameChars), Target = Cut(served.Target, MaxTargetChars), Serial = Cut(served.Serial, MaxSerialChars),
                NotBefore = Time(served.NotBefore), NotAfter = Time(served.NotAfter), CoversName = served.CoversName, Error = Cut(served.Error, MaxWarningChars),
            });
        }
        var size = bounded.CalculateSize();
        var kept = 0;
        // Room is kept for the line that says resources were dropped, so bounding a bounded report changes nothing.
        var count = report.Resources.Count > MaxResources ? MaxResources - 1 : report.Resources.Count;
        for (var i = 0; i < count; i++)
        {
            var copy = Bound(report.Resources[i]);
            var cost = copy.CalculateSize() + 4;
            if (size + cost > (i == report.Resources.Count - 1 ? MaxReportBytes : MaxReportBytes - DroppedLineBytes))
            {
                break;
            }
            bounded.Resources.Add(copy);
            size += cost;
            kept++;
        }
        if (kept < report.Resources.Count)
        {
            // Said as a failed resource: the node's state is not what the controller shows, and the operator must see that.
            bounded.Resources.Add(new ResourceStatus
            {
                Kind = "report", Name = "resources", State = ResourceState.Failed,
                Error = $"the node reported {report.Resources.Count.ToString("N0", CultureInfo.InvariantCulture)} resources ({report.CalculateSize().ToString("N0", CultureInfo.InvariantCulture)} bytes); the controller keeps the first {kept} (at most {MaxResources}, {MaxReportBytes / 1024} KiB)",
            });
        }
        // Spans only with a trace to put them in; their text cut like a resource's, their times dropped when no time. Added
        // after the resources: they are exported, never stored, so they take nothing from the report's stored bound.
        if (report.TraceParent.Length is > 0 and <= MaxTraceParentChars)
        {
            bounded.TraceParent = report.TraceParent;
            foreach (var span in report.Spans.Take(MaxSpans))
            {
                bounded.Spans.Add(new ConvergeSpan
                {
                    Name = Cut(span.Name, MaxKindChars + 1 + MaxNameChars), Start = Time(span.Start), End = Time(span.End),
                    Error = Cut(span.Error, MaxTextChars), Outcome = Cut(span.Outcome, MaxKindChars),
                });
            }
        }
        return bounded;
    }

    /// <summary><paramref name="time"/> when it is a time at all (years 1 to 9999, nanos below a second); null otherwise, so reading it never throws.</summary>
    public static Google.Protobuf.WellKnownTypes.Timestamp? Time(Google.Protobuf.WellKnownTypes.Timestamp? time) =>
        time is { Seconds: >= -62_135_596_800 and <= 253_402_300_799, Nanos: >= 0 and <= 999_999_999 } ? time : null;

    /// <summary>A bounded copy of one resource's status.</summary>
    public static ResourceStatus Bound(ResourceStatus resource)
    {
        var copy = new ResourceStatus
        {
            Kind = Cut(resource.Kind, MaxKindChars), Name = Cut(resource.Name, MaxNameChars), State = resource.State,
            Diff = Cut(resource.Diff, MaxTextChars), Error = Cut(resource.Error, MaxTextChars),
        };
        // Over the bound: the first ones and a line saying how many more, MaxWarnings in all (so bounding again changes nothing).
        var kept = resource.Warnings.Count > MaxWarnings ? MaxWarnings - 1 : resource.Warnings.Count;
        copy.Warnings.Add(resource.Warnings.Take(kept).Select(w => Cut(w, MaxWarningChars)));
        if (kept < resource.Warnings.Count)
        {
            copy.Warnings.Add($"{resource.Warnings.Count - kept} more warning(s) cut by the controller");
        }
        return copy;
    }

    /// <summary>A bounded copy of a hello's host facts.</summary>
    public static HostFacts Bound(HostFacts facts)
    {
        var copy = new HostFacts
        {
            Kernel = Cut(facts.Kernel, MaxFactChars), Distro = Cut(facts.Distro, MaxFactChars), InitSystem = Cut(facts.InitSystem, MaxFactChars),
            DockerVersion = Cut(facts.DockerVersion, MaxFactChars), Architecture = Cut(facts.Architecture, MaxFactChars), Hostname = Cut(facts.Hostname, MaxFactChars),
        };
        foreach (var nic in facts.Interfaces.Take(MaxInterfaces))
        {
            var bounded = new NetworkInterface { Name = Cut(nic.Name, MaxFactChars), Up = nic.Up };
            bounded.Addresses.Add(nic.Addresses.Take(MaxAddresses).Select(a => Cut(a, MaxFactChars)));
            copy.Interfaces.Add(bounded);
        }
        return copy;
    }
}
