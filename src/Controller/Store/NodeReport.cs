using System.Text.Json.Serialization;

namespace Hawser.Controller.Store;

/// <summary>What a converge did to one resource, as its node reported it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ResourceOutcome>))]
public enum ResourceOutcome
{
    /// <summary>The node sent no state (an agent newer than this controller may).</summary>
    Unknown,

    /// <summary>Already as the spec says.</summary>
    InSync,

    /// <summary>Changed to what the spec says.</summary>
    Changed,

    /// <summary>A dry run's: would be changed.</summary>
    WouldChange,

    /// <summary>Could not be brought to what the spec says.</summary>
    Failed,

    /// <summary>Not tried: a resource it depends on failed.</summary>
    Skipped,
}

/// <summary>One resource of a node's report.</summary>
/// <param name="Kind">The resource's kind (sysctl, ufw, certificate, ...).</param>
/// <param name="Name">Its name within the kind.</param>
/// <param name="State">What the converge did to it.</param>
/// <param name="Diff">The change, readable; empty when in sync.</param>
/// <param name="Error">Why it failed; empty otherwise.</param>
/// <param name="Warnings">What the agent warned of.</param>
public sealed record ResourceReport(string Kind, string Name, ResourceOutcome State, string Diff, string Error, IReadOnlyList<string> Warnings)
{
    /// <summary>True for the states that count as a failed resource (failed, or skipped because a dependency failed).</summary>
    [JsonIgnore]
    public bool IsFailed => State is ResourceOutcome.Failed or ResourceOutcome.Skipped;

    /// <summary>
    /// True for a certificate that failed only for want of its material: under a controller, one the controller is still
    /// obtaining (it sends it on once issued), so not a failure of the node's.
    /// </summary>
    [JsonIgnore]
    public bool AwaitsCertificateMaterial => Kind == "certificate" && IsFailed && Error.StartsWith(Shared.Protocol.StateWords.NoCertificateMaterial, StringComparison.Ordinal);

    /// <summary>The resource as one line: <c>kind:name failed: why</c>.</summary>
    public string FailureLine() => $"{Kind}:{Name} {(State == ResourceOutcome.Skipped ? "skipped" : "failed")}{(Error.Length > 0 ? ": " + Error : "")}";
}

/// <summary>The leaf one of a node's servers served when its agent checked (an install's <c>verify:</c>), or why none was read.</summary>
/// <param name="Certificate">The spec's certificate name.</param>
/// <param name="Target">The address the agent asked, HOST:PORT.</param>
/// <param name="Serial">The served leaf's serial; empty when none was read.</param>
/// <param name="NotBefore">The served leaf's start of validity.</param>
/// <param name="NotAfter">The served leaf's end of validity.</param>
/// <param name="CoversName">The leaf covers the name asked for.</param>
/// <param name="Error">Why no leaf was read; empty when one was.</param>
public sealed record ServedCertificateReport(string Certificate, string Target, string Serial, DateTimeOffset? NotBefore, DateTimeOffset? NotAfter,
    bool CoversName, string Error)
{
    /// <summary>True when, at <paramref name="now"/>, the leaf is in the last sixth of its lifetime (a renewal due at a third was missed).</summary>
    public bool InLastSixth(DateTimeOffset now) => NotBefore is { } from && NotAfter is { } to && to - now < (to - from) / 6;
}

/// <summary>A node's report of one converge (or dry run), as the controller keeps it.</summary>
/// <param name="Revision">The revision the converge was of.</param>
/// <param name="DryRun">A dry run's report: nothing was changed.</param>
/// <param name="FinishedAt">When the converge ended, by the node's clock; null when it did not say.</param>
/// <param name="Resources">Each resource's outcome.</param>
/// <param name="InstalledCertificates">The serial of each certificate as found on disk after the converge.</param>
/// <param name="DesiredStateNew">The node had not yet converged, without failure, what it was last sent.</param>
public sealed record NodeReport(ulong Revision, bool DryRun, DateTimeOffset? FinishedAt, IReadOnlyList<ResourceReport> Resources,
    IReadOnlyDictionary<string, string> InstalledCertificates, bool DesiredStateNew)
{
    /// <summary>What the node's servers served when its agent last checked them.</summary>
    public IReadOnlyList<ServedCertificateReport> Served { get; init; } = [];

    /// <summary>True when any resource failed.</summary>
    [JsonIgnore]
    public bool AnyFailed => Resources.Any(r => r.IsFailed);

    /// <summary>True when the converge left its revision applied: every resource in sync or changed (agent and controller count it alike).</summary>
    [JsonIgnore]
    public bool IsApplied => Resources.All(r => r.State is ResourceOutcome.InSync or ResourceOutcome.Changed);

    /// <summary>
    /// This report as the outcome of its revision when <paramref name="earlier"/> was an unfinished converge of the same
    /// revision (something failed, a certificate was awaited): a resource it changed that is in sync now still counts as
    /// changed, so the outcome says what the revision did on the node, not only its last round.
    /// </summary>
    public NodeReport AfterUnfinished(NodeReport? earlier)
    {
        if (earlier is null || earlier.Revision != Revision || earlier.DryRun || !earlier.AnyFailed)
        {
            return this;
        }
        var changed = earlier.Resources.Where(r => r.State == ResourceOutcome.Changed).ToDictionary(r => (r.Kind, r.Name), r => r.Diff);
        return changed.Count == 0 ? this : this with
        {
            Resources = [.. Resources.Select(r => r.State == ResourceOutcome.InSync && changed.TryGetValue((r.Kind, r.Name), out var diff)
                ? r with { State = ResourceOutcome.Changed, Diff = diff } : r)],
        };
    }

    /// <summary>How many resources ended in <paramref name="state"/>.</summary>
    public int Count(ResourceOutcome state) => Resources.Count(r => r.State == state);
}
