namespace Hawser.Controller.Rollouts;

/// <summary>Where a rollout is in its life.</summary>
public enum RolloutState
{
    /// <summary>Moving batches.</summary>
    Running,

    /// <summary>Stopped by an operator or past the failure budget; resume, roll back or abort.</summary>
    Paused,

    /// <summary>Returning every moved node to its previous revision, batch by batch.</summary>
    RollingBack,

    /// <summary>The revision is on every node of the rollout.</summary>
    Done,

    /// <summary>Stopped by an operator; nodes stay where they are.</summary>
    Aborted,

    /// <summary>Every moved node is back on its previous revision.</summary>
    RolledBack,
}

/// <summary>Where one node of a rollout is.</summary>
public enum RolloutNodeState
{
    /// <summary>Not moved yet.</summary>
    Pending,

    /// <summary>Given the revision; its gate is judged.</summary>
    Moving,

    /// <summary>Passed its gate.</summary>
    Healthy,

    /// <summary>Failed its gate (the detail says why).</summary>
    Failed,

    /// <summary>Rolling back: given its previous revision again; its gate is judged.</summary>
    Returning,

    /// <summary>Back on its previous revision (or left as it was, the detail says).</summary>
    Returned,
}

/// <summary>The words the store, the API and the event log use for rollout states (the wire's strings since rollouts began).</summary>
public static class RolloutWords
{
    /// <summary>The word for a rollout's state: running, paused, rolling-back, done, aborted, rolled-back.</summary>
    public static string Of(RolloutState state) => state switch
    {
        RolloutState.Running => "running",
        RolloutState.Paused => "paused",
        RolloutState.RollingBack => "rolling-back",
        RolloutState.Done => "done",
        RolloutState.Aborted => "aborted",
        RolloutState.RolledBack => "rolled-back",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    /// <summary>The word for a node's state: pending, moving, healthy, failed, returning, returned.</summary>
    public static string Of(RolloutNodeState state) => state switch
    {
        RolloutNodeState.Pending => "pending",
        RolloutNodeState.Moving => "moving",
        RolloutNodeState.Healthy => "healthy",
        RolloutNodeState.Failed => "failed",
        RolloutNodeState.Returning => "returning",
        RolloutNodeState.Returned => "returned",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    /// <summary>The rollout state a stored word names; <see cref="FormatException"/> for any other word.</summary>
    public static RolloutState RolloutStateOf(string word) => word switch
    {
        "running" => RolloutState.Running,
        "paused" => RolloutState.Paused,
        "rolling-back" => RolloutState.RollingBack,
        "done" => RolloutState.Done,
        "aborted" => RolloutState.Aborted,
        "rolled-back" => RolloutState.RolledBack,
        _ => throw new FormatException($"'{word}' is not a rollout state"),
    };

    /// <summary>The node state a stored word names; <see cref="FormatException"/> for any other word.</summary>
    public static RolloutNodeState NodeStateOf(string word) => word switch
    {
        "pending" => RolloutNodeState.Pending,
        "moving" => RolloutNodeState.Moving,
        "healthy" => RolloutNodeState.Healthy,
        "failed" => RolloutNodeState.Failed,
        "returning" => RolloutNodeState.Returning,
        "returned" => RolloutNodeState.Returned,
        _ => throw new FormatException($"'{word}' is not a rollout node state"),
    };

    /// <summary>True while the engine still acts on a rollout in <paramref name="state"/>.</summary>
    public static bool IsActive(RolloutState state) => state is RolloutState.Running or RolloutState.Paused or RolloutState.RollingBack;
}

/// <summary>An HTTP check of a rollout as the operator gave it (defaults not yet filled in).</summary>
/// <param name="Url">The URL template ({node}, {address}).</param>
/// <param name="ExpectStatus">A regular expression over the status code; empty: the default.</param>
/// <param name="Hold">How long it must keep passing; null: not at all.</param>
/// <param name="Timeout">How long one request may take; null: the default.</param>
public sealed record HttpCheckSettings(string Url, string ExpectStatus = "", TimeSpan? Hold = null, TimeSpan? Timeout = null);

/// <summary>A rollout's options as the operator gave them; <see cref="RolloutPlan.Parse"/> checks them and fills in defaults.</summary>
public sealed record RolloutSettings
{
    /// <summary>k=v,k2=v2: only nodes with these labels; empty: every node the revision names.</summary>
    public string Selector { get; init; } = "";

    /// <summary>Nodes per batch: a count or a percentage; empty: 25%.</summary>
    public string Batch { get; init; } = "";

    /// <summary>The first batch is a single node.</summary>
    public bool Canary { get; init; }

    /// <summary>The wait between batches; null: none.</summary>
    public TimeSpan? Pause { get; init; }

    /// <summary>Failed nodes tolerated: a count or a percentage; empty: none.</summary>
    public string MaxFailures { get; init; } = "";

    /// <summary><c>pause</c> (empty) or <c>rollback</c>.</summary>
    public string OnFailure { get; init; } = "";

    /// <summary>Checks that must pass on every node of a batch.</summary>
    public IReadOnlyList<HttpCheckSettings> Checks { get; init; } = [];

    /// <summary>How long a node has to become healthy; null: the default.</summary>
    public TimeSpan? GateTimeout { get; init; }

    /// <inheritdoc/>
    public bool Equals(RolloutSettings? other) => other is not null && Selector == other.Selector && Batch == other.Batch && Canary == other.Canary
        && Pause == other.Pause && MaxFailures == other.MaxFailures && OnFailure == other.OnFailure && GateTimeout == other.GateTimeout
        && Checks.SequenceEqual(other.Checks);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Selector, Batch, Canary, Pause, MaxFailures, OnFailure, Checks.Count, GateTimeout);
}

/// <summary>One node of a rollout: the engine's working copy, stored as a row of <c>rollout_nodes</c>.</summary>
public sealed record RolloutNodeRecord
{
    /// <summary>The node's name.</summary>
    public required string Node { get; init; }

    /// <summary>Its batch, from 0.</summary>
    public required uint Batch { get; init; }

    /// <summary>Where it is.</summary>
    public RolloutNodeState State { get; set; }

    /// <summary>What its gate says now.</summary>
    public string Detail { get; set; } = "";

    /// <summary>The revision it ran before (0: nothing).</summary>
    public required ulong PreviousRevision { get; init; }

    /// <summary>When it was given the revision (or, returning, the previous one); null while pending.</summary>
    public DateTimeOffset? MovedAt { get; set; }

    /// <summary>When its checks started passing.</summary>
    public DateTimeOffset? HealthySince { get; set; }

    /// <summary>The revision does not change this node's state: no new report is awaited.</summary>
    public bool Unchanged { get; set; }

    /// <summary>Why it failed, kept after it returned.</summary>
    public string Failure { get; set; } = "";
}

/// <summary>A rollout: the engine's working copy (a step changes it, the store writes it as rows of <c>rollouts</c> and <c>rollout_nodes</c>).</summary>
public sealed record RolloutRecord
{
    /// <summary>Its number, from 1; 0 until first stored.</summary>
    public ulong Id { get; set; }

    /// <summary>The revision it moves nodes to.</summary>
    public required ulong Revision { get; init; }

    /// <summary>Where it is.</summary>
    public RolloutState State { get; set; }

    /// <summary>Why it is paused, rolling back or stopped.</summary>
    public string Reason { get; set; } = "";

    /// <summary>Its options as given.</summary>
    public required RolloutSettings Settings { get; init; }

    /// <summary>The batch being moved (from 0); equals <see cref="Batches"/> when all moved.</summary>
    public uint Batch { get; set; }

    /// <summary>How many batches.</summary>
    public required uint Batches { get; init; }

    /// <summary>Its nodes in batch order.</summary>
    public required List<RolloutNodeRecord> Nodes { get; init; }

    /// <summary>When it was started (set by the store).</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When it was last stored (set by the store; a save expecting another value is refused).</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Set while waiting out a pause between batches.</summary>
    public DateTimeOffset? NextBatchAt { get; set; }

    /// <summary>The remaining pauses are skipped.</summary>
    public bool Promoted { get; set; }

    /// <summary>Failures the operator resumed past; only failures beyond them count.</summary>
    public uint AcceptedFailures { get; set; }

    /// <summary>A copy whose nodes can change without changing this one's.</summary>
    public RolloutRecord Copy() => this with { Nodes = [.. Nodes.Select(n => n with { })] };

    /// <inheritdoc/>
    public bool Equals(RolloutRecord? other) => other is not null && Id == other.Id && Revision == other.Revision && State == other.State
        && Reason == other.Reason && Settings.Equals(other.Settings) && Batch == other.Batch && Batches == other.Batches
        && CreatedAt == other.CreatedAt && UpdatedAt == other.UpdatedAt && NextBatchAt == other.NextBatchAt && Promoted == other.Promoted
        && AcceptedFailures == other.AcceptedFailures && Nodes.SequenceEqual(other.Nodes);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Id, Revision, State, Batch, Nodes.Count);
}
