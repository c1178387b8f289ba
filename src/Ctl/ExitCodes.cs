namespace Hawser.Ctl;

/// <summary>hawserctl's exit codes, so scripts can tell failures apart.</summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;
    /// <summary>The controller answered with an error, or a node failed to converge.</summary>
    public const int Failed = 1;
    /// <summary>diff and revisions diff: something differs (as hawser-agent apply --dry-run's 2).</summary>
    public const int ChangesFound = 2;
    /// <summary>The command line is wrong (EX_USAGE, in all three binaries).</summary>
    public const int Usage = Hawser.Shared.Cli.CommandLineRunner.UsageExitCode;
    /// <summary>The controller could not be reached.</summary>
    public const int Unreachable = 3;
    /// <summary>A node did not report the awaited revision in time (apply, certs renew, rollout watch), or status --check found a node not in sync.</summary>
    public const int NoReport = 4;
}
