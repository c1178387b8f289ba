using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Api;

/// <summary>Node reports across the API edge: the wire's <c>hawser.v1.StatusReport</c> into the domain's <see cref="NodeReport"/>, and its resources back out.</summary>
public static class ReportWire
{
    /// <summary>The report an agent sent (bounded by the caller first), as the controller keeps it.</summary>
    public static NodeReport Report(StatusReport report) => new(
        report.Revision, report.DryRun, report.FinishedAt?.ToDateTimeOffset(),
        [.. report.Resources.Select(r => new ResourceReport(r.Kind, r.Name, Outcome(r.State), r.Diff, r.Error, [.. r.Warnings]))],
        new Dictionary<string, string>(report.InstalledCertificates, StringComparer.Ordinal), report.DesiredStateNew)
    {
        Served = [.. report.ServedCertificates.Select(s => new ServedCertificateReport(s.Certificate, s.Target, s.Serial,
            s.NotBefore?.ToDateTimeOffset(), s.NotAfter?.ToDateTimeOffset(), s.CoversName, s.Error))],
    };

    /// <summary>A kept resource as the wire describes it.</summary>
    public static ResourceStatus Message(ResourceReport resource)
    {
        var message = new ResourceStatus { Kind = resource.Kind, Name = resource.Name, State = State(resource.State), Diff = resource.Diff, Error = resource.Error };
        message.Warnings.Add(resource.Warnings);
        return message;
    }

    /// <summary>The domain's outcome for a wire state.</summary>
    public static ResourceOutcome Outcome(ResourceState state) => state switch
    {
        ResourceState.InSync => ResourceOutcome.InSync,
        ResourceState.Changed => ResourceOutcome.Changed,
        ResourceState.WouldChange => ResourceOutcome.WouldChange,
        ResourceState.Failed => ResourceOutcome.Failed,
        ResourceState.Skipped => ResourceOutcome.Skipped,
        _ => ResourceOutcome.Unknown,
    };

    /// <summary>The wire state for a domain outcome.</summary>
    public static ResourceState State(ResourceOutcome outcome) => outcome switch
    {
        ResourceOutcome.InSync => ResourceState.InSync,
        ResourceOutcome.Changed => ResourceState.Changed,
        ResourceOutcome.WouldChange => ResourceState.WouldChange,
        ResourceOutcome.Failed => ResourceState.Failed,
        ResourceOutcome.Skipped => ResourceState.Skipped,
        _ => ResourceState.Unspecified,
    };
}
