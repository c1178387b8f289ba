using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Hawser.Shared.Cli;

/// <summary>
/// The one way a duration is written, for every option and the web form: a number with a unit
/// (<c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>, or several, <c>1h30m</c>) or a clock
/// (<c>01:00:00</c>). A bare number is refused: <c>5</c> once meant five days.
/// </summary>
public static partial class Durations
{
    /// <summary>The accepted forms, for help and errors.</summary>
    public const string Examples = "30s, 5m, 2h, 1h30m or 01:00:00";

    /// <summary>Reads <paramref name="text"/>; false with <paramref name="error"/> (naming <paramref name="what"/>) when it is not a duration of zero or more.</summary>
    public static bool TryParse(string text, string what, out TimeSpan value, out string? error)
    {
        value = TimeSpan.Zero;
        text = text.Trim();
        if (text.StartsWith('-'))
        {
            error = $"{what} must be a positive duration, not '{text}' (e.g. {Examples})";
            return false;
        }
        if (text.Contains(':', StringComparison.Ordinal))
        {
            if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value))
            {
                error = null;
                return true;
            }
        }
        else if (UnitPattern().IsMatch(text))
        {
            foreach (Match part in PartPattern().Matches(text))
            {
                var number = double.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture);
                value += part.Groups[2].Value switch
                {
                    "ms" => TimeSpan.FromMilliseconds(number),
                    "s" => TimeSpan.FromSeconds(number),
                    "m" => TimeSpan.FromMinutes(number),
                    "h" => TimeSpan.FromHours(number),
                    _ => TimeSpan.FromDays(number),
                };
            }
            error = null;
            return true;
        }
        error = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? $"{what} '{text}' has no unit: write {text}s, {text}m or {text}h (or a clock, 01:00:00)"
            : $"{what} '{text}' is not a duration (e.g. {Examples})";
        return false;
    }

    /// <summary>A System.CommandLine parser for a duration option.</summary>
    public static TimeSpan Parse(ArgumentResult result)
    {
        var what = result.Parent is OptionResult option ? option.Option.Name : "the duration";
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (TryParse(text, what, out var value, out var error))
        {
            return value;
        }
        result.AddError(error!);
        return TimeSpan.Zero;
    }

    /// <summary>A duration option: DURATION in help, the shared parser, a default, and a smallest value accepted.</summary>
    public static Option<TimeSpan> Option(string name, string description, TimeSpan? defaultValue = null, TimeSpan? minimum = null)
    {
        var option = new Option<TimeSpan>(name)
        {
            HelpName = "DURATION",
            Description = $"{description} ({Examples})",
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (!TryParse(text, name, out var value, out var error))
                {
                    // One mistake, one error: the minimum is not judged on a value that did not parse.
                    result.AddError(error!);
                    return TimeSpan.Zero;
                }
                if (minimum is { } least && value < least)
                {
                    result.AddError($"{name} must be a positive duration of at least {Format(least)}, not '{result.Tokens[0].Value}'");
                }
                return value;
            },
        };
        if (defaultValue is { } value)
        {
            option.DefaultValueFactory = _ => value;
        }
        return option;
    }

    /// <summary>The short form of <paramref name="value"/>: 30s, 5m, 1h30m, 500ms.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }
        if (value < TimeSpan.FromSeconds(1))
        {
            return $"{value.TotalMilliseconds:0}ms";
        }
        var text = "";
        if (value.Days > 0) { text += $"{value.Days}d"; }
        if (value.Hours > 0) { text += $"{value.Hours}h"; }
        if (value.Minutes > 0) { text += $"{value.Minutes}m"; }
        if (value.Seconds > 0 || value.Milliseconds > 0) { text += value.Milliseconds > 0 ? $"{value.Seconds}.{value.Milliseconds:000}s" : $"{value.Seconds}s"; }
        return text;
    }

    [GeneratedRegex(@"^(\d+(\.\d+)?(ms|s|m|h|d))+\z")]
    private static partial Regex UnitPattern();

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|s|m|h|d)")]
    private static partial Regex PartPattern();
}
