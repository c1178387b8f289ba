namespace Hawser.Agent.Reconcile;

/// <summary>Where a resource ended up after a converge.</summary>
public enum ResourceOutcome
{
    /// <summary>Already as the spec says; nothing written.</summary>
    InSync,

    /// <summary>Changed, and now as the spec says.</summary>
    Changed,

    /// <summary>Dry run: would change.</summary>
    WouldChange,

    /// <summary>Could not be planned, applied or verified.</summary>
    Failed,

    /// <summary>Not attempted because a resource it depends on failed.</summary>
    Skipped,
}

/// <summary>One resource's result.</summary>
public sealed record ResourceReport(string Id, ResourceOutcome Outcome, IReadOnlyList<Change> Changes, IReadOnlyList<string> Warnings, string? Error);

/// <summary>A whole converge's result, in the order resources ran.</summary>
public sealed record ConvergeReport(IReadOnlyList<ResourceReport> Resources, bool DryRun)
{
    /// <summary>What each certificate's servers served when the converge last checked them.</summary>
    public IReadOnlyList<Kinds.Certificates.ServedCertificate> Served { get; init; } = [];

    /// <summary>True when any resource failed or was skipped.</summary>
    public bool Failed => Resources.Any(r => r.Outcome is ResourceOutcome.Failed or ResourceOutcome.Skipped);

    /// <summary>True when a dry run found differences.</summary>
    public bool HasPendingChanges => Resources.Any(r => r.Outcome == ResourceOutcome.WouldChange);

    /// <summary>How many resources ended in <paramref name="outcome"/>.</summary>
    public int Count(ResourceOutcome outcome) => Resources.Count(r => r.Outcome == outcome);
}
