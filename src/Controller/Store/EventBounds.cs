using Hawser.Controller.Sessions;

namespace Hawser.Controller.Store;

/// <summary>
/// The size of one event, bounded where it is stored and again where it is read (rows stored before the bound existed):
/// a page of events always fits one response, however large the error a node sent.
/// </summary>
public static class EventBounds
{
    /// <summary>An event's one-line summary.</summary>
    public const int MaxSummaryChars = 512;

    /// <summary>Most detail lines kept, the last saying how many were cut when there were more.</summary>
    public const int MaxDetails = 16;

    /// <summary>One detail line.</summary>
    public const int MaxDetailChars = 512;

    /// <summary><paramref name="record"/> with its summary and details within the bounds (the same record when they are).</summary>
    public static EventRecord Bound(EventRecord record)
    {
        if (record.Summary.Length <= MaxSummaryChars && record.Details.Count <= MaxDetails && record.Details.All(d => d.Length <= MaxDetailChars))
        {
            return record;
        }
        // Over the bound: the first lines and one saying how many more, MaxDetails in all (bounded again where read, unchanged).
        var kept = record.Details.Count > MaxDetails ? MaxDetails - 1 : record.Details.Count;
        var details = record.Details.Take(kept).Select(d => NodeInputBounds.Cut(d, MaxDetailChars)).ToList();
        if (kept < record.Details.Count)
        {
            details.Add($"… {record.Details.Count - kept} more line(s) cut by the controller");
        }
        return record with { Summary = NodeInputBounds.Cut(record.Summary, MaxSummaryChars), Details = details };
    }
}
