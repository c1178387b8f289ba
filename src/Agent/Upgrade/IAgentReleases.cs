namespace Hawser.Agent.Upgrade;

/// <summary>Agent releases as the controller serves them over the agent's stream (none in local mode).</summary>
public interface IAgentReleases
{
    /// <summary>
    /// Downloads release <paramref name="version"/> for this agent's architecture, verified (signature, SHA-256, ELF machine),
    /// into the agent's state directory; returns where it is and its SHA-256. Throws <see cref="Reconcile.ResourceException"/> with the reason.
    /// </summary>
    Task<StagedRelease> StageAsync(string version, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the running agent <paramref name="staged"/>: a trial start that must connect and report, then the switch, and this
    /// process replaced by it (so it never returns when it works). Throws <see cref="Reconcile.ResourceException"/> with why not.
    /// </summary>
    Task SwitchAsync(StagedRelease staged, CancellationToken cancellationToken);
}

/// <summary>A verified release binary, ready to be switched to.</summary>
public sealed record StagedRelease(string Path, string Version, string Sha256, long Size);
