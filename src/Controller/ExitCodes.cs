namespace Hawser.Controller;

/// <summary>hawser-controller's exit codes.</summary>
internal static class ExitCodes
{
    /// <summary>Stopped cleanly.</summary>
    public const int Ok = 0;
    /// <summary>install: the service could not be installed, or did not come up.</summary>
    public const int Failed = 1;
    /// <summary>A command-line value is wrong.</summary>
    public const int Usage = Hawser.Shared.Cli.CommandLineRunner.UsageExitCode;
    /// <summary>The data directory or store cannot be used (locked, newer schema, no permission).</summary>
    public const int StoreUnavailable = 3;
    /// <summary>The listen address could not be bound.</summary>
    public const int ListenFailed = 4;
    /// <summary>init: the data directory is already initialized; run: it is not.</summary>
    public const int NotInitialized = 5;
}
