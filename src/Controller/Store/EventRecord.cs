namespace Hawser.Controller.Store;

/// <summary>One entry of the event log: what happened, when, who caused it, and the lines that say what changed.</summary>
public sealed record EventRecord
{
    /// <summary>Increasing in the order events were stored; 0 for one not stored yet.</summary>
    public long Id { get; init; }

    /// <summary>When, UTC, millisecond precision.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>What kind: area.verb, e.g. <c>spec.applied</c>, <c>node.failed</c>, <c>web.login-refused</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>Who caused it: an admin certificate's subject, <c>web:LOGIN</c>, <c>node:NAME</c>, or <c>controller</c>.</summary>
    public required string Actor { get; init; }

    /// <summary>The node it is about; empty when none.</summary>
    public string Node { get; init; } = "";

    /// <summary>The revision it is about; 0 when none.</summary>
    public ulong Revision { get; init; }

    /// <summary>One line.</summary>
    public required string Summary { get; init; }

    /// <summary>One line each: resource changes (<c>target: from -&gt; to</c>), errors.</summary>
    public IReadOnlyList<string> Details { get; init; } = [];
}

/// <summary>Which events to read.</summary>
public sealed record EventQuery
{
    /// <summary>Only this node's events; null for all.</summary>
    public string? Node { get; init; }

    /// <summary>Only events by this actor (an operator's name, <c>node:NAME</c>, <c>peer:ADDRESS</c>); null for all.</summary>
    public string? Actor { get; init; }

    /// <summary>An exact kind, or the area before its dot (<c>node</c> matches <c>node.failed</c>); null for all.</summary>
    public string? Kind { get; init; }

    /// <summary>Only events at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only events with a larger id.</summary>
    public long AfterId { get; init; }

    /// <summary>The newest this many (returned oldest first).</summary>
    public int Limit { get; init; } = 200;
}

