using System.CommandLine;

namespace Hawser.Shared.Cli;

/// <summary>Runs a root command with the exit-code convention all Hawser binaries share.</summary>
public static class CommandLineRunner
{
    /// <summary>Exit code for a command line that does not parse.</summary>
    public const int UsageExitCode = 2;

    /// <summary>
    /// Parses and invokes; a command line that does not parse prints every error to stderr and
    /// exits <paramref name="usageExitCode"/>, <see cref="UsageExitCode"/> unless the binary's contract
    /// gives 2 another meaning (System.CommandLine's own default is 1, which scripts could not tell
    /// from a failure).
    /// </summary>
    public static async Task<int> RunAsync(RootCommand root, string[] args, int usageExitCode = UsageExitCode)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && !args.Any(a => a is "-h" or "--help" or "-?"))
        {
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"error: {error.Message}");
            }
            await Console.Error.WriteLineAsync($"See '{root.Name} --help'.");
            return usageExitCode;
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (OperationCanceledException)
        {
            return FailedExitCode;
        }
        catch (Exception ex)
        {
            // A user reads one line, never a stack trace; the type says where to look when it is a bug.
            await Console.Error.WriteLineAsync($"error: {ex.Message} ({ex.GetType().Name}; nothing more was done)");
            return FailedExitCode;
        }
    }

    /// <summary>Exit code when a command fails with an error it did not handle itself.</summary>
    public const int FailedExitCode = 1;
}
