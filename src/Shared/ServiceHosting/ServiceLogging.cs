using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Console;

namespace Hawser.Shared.ServiceHosting;

/// <summary>How a Hawser service (controller, agent) writes its log lines.</summary>
public enum LogFormat
{
    /// <summary>systemd's format when journald reads stdout ($JOURNAL_STREAM is set), text otherwise.</summary>
    Auto,

    /// <summary>One line each: UTC time with milliseconds, level, category, message.</summary>
    Text,

    /// <summary>A <c>&lt;N&gt;</c> syslog priority in front of each line, so <c>journalctl -p warning</c> filters by level.</summary>
    Systemd,

    /// <summary>One JSON object per line (Timestamp, LogLevel, Category, Message, State), for log shippers.</summary>
    Json,
}

/// <summary>A service's console logging: every line with a time (UTC, milliseconds) and a level, in the format asked for.</summary>
public static class ServiceLogging
{
    private const string Timestamp = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";

    /// <summary>The <c>--log-format</c> option, the same for every service.</summary>
    public static System.CommandLine.Option<LogFormat> Option() => new("--log-format")
    {
        HelpName = "auto|text|systemd|json",
        Description = "Log lines as text (UTC time, level, message), in systemd's format with a <N> priority (auto picks it when journald reads the output), or as JSON lines for log shippers; default auto.",
        DefaultValueFactory = _ => LogFormat.Auto,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (Enum.TryParse<LogFormat>(text, ignoreCase: true, out var format) && Enum.IsDefined(format) && !char.IsDigit(text.FirstOrDefault()))
            {
                return format;
            }
            result.AddError($"--log-format '{text}' is not one of auto, text, systemd, json");
            return LogFormat.Auto;
        },
    };

    /// <summary>The format <see cref="LogFormat.Auto"/> stands for in this process's environment.</summary>
    public static LogFormat Resolve(LogFormat format) => format != LogFormat.Auto ? format
        : string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM")) ? LogFormat.Text : LogFormat.Systemd;

    /// <summary>Adds the console logger in <paramref name="format"/> at <paramref name="minimum"/> and above.</summary>
    public static ILoggingBuilder AddServiceConsole(this ILoggingBuilder builder, LogFormat format, LogLevel minimum)
    {
        switch (Resolve(format))
        {
            case LogFormat.Json:
                builder.AddJsonConsole(o =>
                {
                    o.TimestampFormat = Timestamp.TrimEnd();
                    o.UseUtcTimestamp = true;
                    o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
                });
                break;
            case LogFormat.Systemd:
                // journald stamps each line itself; the time stays in the text for `journalctl -o cat` and copies.
                builder.AddSystemdConsole(o =>
                {
                    o.TimestampFormat = Timestamp;
                    o.UseUtcTimestamp = true;
                });
                break;
            default:
                builder.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = Timestamp;
                    o.UseUtcTimestamp = true;
                    o.ColorBehavior = LoggerColorBehavior.Disabled;
                });
                break;
        }
        // A reader that falls behind (a pipe nobody drains fast enough, a journald under load) must not stall the process:
        // by default a full queue makes every logging thread wait, and in a controller those are the threads serving
        // thousands of agent streams. Past MaxQueueLength lines waiting, lines are dropped instead, and the console logger
        // says how many when it writes again.
        builder.Services.Configure<ConsoleLoggerOptions>(o =>
        {
            o.QueueFullMode = ConsoleLoggerQueueFullMode.DropWrite;
            o.MaxQueueLength = MaxQueuedLines;
        });
        return builder.SetMinimumLevel(minimum);
    }

    /// <summary>How many log lines may wait for the console before lines are dropped (a few MB at most).</summary>
    public const int MaxQueuedLines = 10_000;
}
