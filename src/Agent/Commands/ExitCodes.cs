namespace Hawser.Agent.Commands;

/// <summary>hawser-agent's exit codes (design.md, "Agent, local mode").</summary>
internal static class ExitCodes
{
    /// <summary>The node is in sync afterwards.</summary>
    public const int InSync = 0;
    /// <summary>Done (a command that converges nothing, such as history).</summary>
    public const int Ok = 0;

    /// <summary>Something failed, or the input was invalid and nothing was changed.</summary>
    public const int Failed = 1;

    /// <summary>A dry run found changes.</summary>
    public const int ChangesPending = 2;

    /// <summary>The controller removed this node: retrying cannot help (the systemd unit does not restart on it).</summary>
    public const int Removed = 3;

    /// <summary>The command line does not parse (EX_USAGE, as in hawserctl and hawser-controller).</summary>
    public const int Usage = Hawser.Shared.Cli.CommandLineRunner.UsageExitCode;
}
