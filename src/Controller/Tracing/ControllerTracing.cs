using System.Diagnostics;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Tracing;

/// <summary>
/// The controller's spans (an apply's validate, store and push) and the agents' converge spans it exports for them. Off
/// unless <c>--otlp-endpoint</c> is given: with no listener, <see cref="ActivitySource.StartActivity(string, ActivityKind)"/>
/// returns null and nothing is recorded.
/// </summary>
public static class ControllerTracing
{
    /// <summary>The activity source's name, for the exporter to listen to.</summary>
    public const string SourceName = "Hawser.Controller";

    /// <summary>Where the controller's own spans come from.</summary>
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// Exports a node's converge spans under the push they answer (the report's trace_parent): the converge span a child
    /// of the push, each resource's a child of the converge. The agent timed them; the controller gives them their ids.
    /// The agent exports nothing itself: its spans travel in its report over the stream it already has, so a host needs
    /// no route to the collector and the agent no exporter of its own.
    /// </summary>
    public static void ExportConverge(string node, StatusReport report)
    {
        if (report.Spans.Count == 0 || !Source.HasListeners() || !ActivityContext.TryParse(report.TraceParent, null, out var push)
            || report.Spans[0] is not { Start: not null, End: not null } converge)
        {
            return;
        }
        var tags = new ActivityTagsCollection { ["hawser.node"] = node, ["hawser.revision"] = (long)report.Revision };
        using var parent = Source.StartActivity(ActivityKind.Internal, push, tags, name: $"converge {node}", startTime: converge.Start.ToDateTimeOffset());
        if (parent is null)
        {
            return;
        }
        Finish(parent, converge);
        foreach (var span in report.Spans.Skip(1).Where(s => s.Start is not null && s.End is not null))
        {
            using var child = Source.StartActivity(ActivityKind.Internal, parent.Context,
                new ActivityTagsCollection { ["hawser.node"] = node, ["hawser.outcome"] = span.Outcome }, name: span.Name, startTime: span.Start.ToDateTimeOffset());
            if (child is not null)
            {
                Finish(child, span);
            }
        }
    }

    private static void Finish(Activity activity, ConvergeSpan span)
    {
        if (span.Error.Length > 0)
        {
            activity.SetStatus(ActivityStatusCode.Error, span.Error);
        }
        // Never before its start: the agent's clock is the agent's.
        activity.SetEndTime(span.End.ToDateTime() < activity.StartTimeUtc ? activity.StartTimeUtc : span.End.ToDateTime());
    }
}
