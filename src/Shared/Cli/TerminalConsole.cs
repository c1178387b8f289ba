using Spectre.Console;

namespace Hawser.Shared.Cli;

/// <summary>The stdout console every Hawser command prints through.</summary>
public static class TerminalConsole
{
    /// <summary>
    /// Colours and terminal width on a terminal; plain text that is never cut when stdout is a pipe
    /// or a file, so <c>hawserctl nodes | grep</c> sees every character.
    /// </summary>
    public static IAnsiConsole CreateStdout()
    {
        var redirected = Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        if (redirected)
        {
            console.Profile.Width = 4096;
        }
        return console;
    }
}
