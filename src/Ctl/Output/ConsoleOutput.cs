using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Hawser.Ctl.Commands;
using Hawser.Shared.Cli;
using Spectre.Console;

namespace Hawser.Ctl.Output;

/// <summary>
/// Everything hawserctl prints goes through here: tables and messages for people on stdout,
/// JSON for scripts on stdout, errors on stderr (as JSON too with -o json).
/// </summary>
internal sealed class ConsoleOutput(OutputFormat format, IAnsiConsole? stdout = null, TextWriter? stderr = null)
{
    private readonly IAnsiConsole _stdout = stdout ?? TerminalConsole.CreateStdout();
    private readonly TextWriter _stderr = stderr ?? Console.Error;

    /// <summary>The format in force.</summary>
    public OutputFormat Format { get; } = format;

    /// <summary>Prints a value as JSON.</summary>
    public void WriteJson<T>(T value, JsonTypeInfo<T> typeInfo) =>
        _stdout.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(value, typeInfo));

    /// <summary>Prints a table.</summary>
    public void WriteTable(Table table) => _stdout.Write(table);

    /// <summary>Prints a plain line for people (never in JSON mode).</summary>
    public void WriteLine(string text) => _stdout.WriteLine(text);

    /// <summary>Prints an error to stderr, with an optional machine-readable code.</summary>
    public void WriteError(string message, string? code = null)
    {
        if (Format == OutputFormat.Json)
        {
            _stderr.WriteLine(JsonSerializer.Serialize(new ErrorOutput(message, code), CtlJsonContext.Default.ErrorOutput));
            return;
        }
        _stderr.WriteLine($"error: {message}");
    }
}
