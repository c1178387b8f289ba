using System.CommandLine;

namespace Hawser.Shared.Cli;

/// <summary>Runs a root command with the exit-code convention all Hawser binaries share.</summary>
public static partial class CommandLineRunner
{
    /// <summary>
    /// Exit code for a command line that does not parse, or an option value that is wrong, in all three binaries: sysexits.h's
    /// EX_USAGE, so it is never mistaken for 1 (failed) or 2 (changes found: hawserctl diff, hawser-agent apply --dry-run).
    /// </summary>
    public const int UsageExitCode = 64;

    /// <summary>How long after SIGTERM or SIGINT a command that has not returned is abandoned (it should have stopped on its own well before).</summary>
    public static readonly TimeSpan ProcessTerminationTimeout = TimeSpan.FromSeconds(80);

    /// <summary>
    /// Parses and invokes; a command line that does not parse prints every error to stderr and
    /// exits <paramref name="usageExitCode"/>, <see cref="UsageExitCode"/> by default (System.CommandLine's own
    /// default is 1, which scripts could not tell from a failure).
    /// </summary>
    public static async Task<int> RunAsync(RootCommand root, string[] args, int usageExitCode = UsageExitCode)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && !args.Any(a => a is "-h" or "--help" or "-?"))
        {
            if (UnknownVerb(parse) is { } verb)
            {
                // One line and a hint, as git and kubectl do, instead of "required command" plus "unrecognized".
                var nearest = Nearest(verb.Parent, verb.Word);
                await Console.Error.WriteLineAsync($"error: '{verb.Word}' is not a {verb.Parent.Name} command." + (nearest is null ? "" : $" Did you mean '{nearest}'?"));
                await Console.Error.WriteLineAsync($"See '{root.Name} {(verb.Parent == root ? "" : verb.Parent.Name + " ")}--help'.");
                return usageExitCode;
            }
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"error: {error.Message}");
            }
            await Console.Error.WriteLineAsync($"See '{root.Name} --help'.");
            return usageExitCode;
        }
        if (args.Any(a => a is "-h" or "--help" or "-?"))
        {
            return await HelpAsync(parse);
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                // SIGTERM and SIGINT cancel the action's token; the action then stops within its own bound (the controller's
                // --shutdown-timeout). The library's default of 2 s would abandon a controller still closing a thousand
                // streams and exit with 143; this is only the last resort, below systemd's default stop timeout of 90 s.
                ProcessTerminationTimeout = ProcessTerminationTimeout,
            });
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

    /// <summary>
    /// System.CommandLine's help, with an optional argument shown as [NODE] in the command list (it prints
    /// &lt;NODE&gt;, as if required), and the verb's examples at the end.
    /// </summary>
    private static async Task<int> HelpAsync(ParseResult parse)
    {
        using var text = new StringWriter();
        var code = await parse.InvokeAsync(new InvocationConfiguration { Output = text });
        var help = text.ToString();
        var command = parse.CommandResult.Command;
        foreach (var sub in command.Subcommands)
        {
            foreach (var argument in sub.Arguments.Where(a => a.Arity.MinimumNumberOfValues == 0))
            {
                var name = argument.HelpName ?? argument.Name;
                help = help.Replace($"  {sub.Name} <{name}>", $"  {sub.Name} [{name}]", StringComparison.Ordinal);
            }
        }
        await Console.Out.WriteAsync(OneDefault(help).TrimEnd() + Environment.NewLine);
        if (CommandExamples.Of(command) is { Count: > 0 } examples)
        {
            await Console.Out.WriteLineAsync();
            await Console.Out.WriteLineAsync("Examples:");
            foreach (var example in examples)
            {
                await Console.Out.WriteLineAsync("  " + example);
            }
        }
        return code;
    }

    /// <summary>
    /// One way to say a default: System.CommandLine's <c>[default: 00:02:00]</c> goes where the description says its
    /// default already, a duration is written as the options take it (2m), an enum's as typed (table).
    /// </summary>
    internal static string OneDefault(string help) => string.Join('\n', help.Split('\n').Select(line =>
        DefaultShown().Match(line) is not { Success: true } shown ? line
        : line[..shown.Index].Contains("default", StringComparison.OrdinalIgnoreCase) ? line.Remove(shown.Index, shown.Length)
        : TimeSpan.TryParse(shown.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture, out var duration) && shown.Groups[1].Value.Contains(':', StringComparison.Ordinal)
            ? line.Remove(shown.Index, shown.Length).Insert(shown.Index, $" [default: {Durations.Format(duration)}]")
        : System.Text.RegularExpressions.Regex.IsMatch(shown.Groups[1].Value, "^[A-Z][a-z]+$")
            ? line.Remove(shown.Index, shown.Length).Insert(shown.Index, $" [default: {shown.Groups[1].Value.ToLowerInvariant()}]")
        : line));

    [System.Text.RegularExpressions.GeneratedRegex(@" ?\[default: ([^\]]*)\]")]
    private static partial System.Text.RegularExpressions.Regex DefaultShown();

    /// <summary>The word where a verb was expected but none matched, with the command it was given to; null otherwise.</summary>
    private static (Command Parent, string Word)? UnknownVerb(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        if (command.Subcommands.Count == 0 || parse.UnmatchedTokens.Count == 0)
        {
            return null;
        }
        var word = parse.UnmatchedTokens[0];
        return word.StartsWith('-') ? null : (command, word);
    }

    /// <summary>The subcommand of <paramref name="command"/> nearest to <paramref name="word"/> (edit distance at most 2, or a prefix), or null.</summary>
    internal static string? Nearest(Command command, string word) => NearestName.Of(command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name), word, prefixes: true);
}
