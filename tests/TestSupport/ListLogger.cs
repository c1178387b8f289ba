using Microsoft.Extensions.Logging;

namespace Hawser.TestSupport;

/// <summary>A logger that keeps each formatted line with its level, for tests that check what was logged.</summary>
public sealed class ListLogger : ILogger
{
    private readonly List<string> _lines = [];

    /// <summary>The lines so far, each as "level: message".</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <inheritdoc/>
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    /// <inheritdoc/>
    public bool IsEnabled(LogLevel logLevel) => true;

    /// <inheritdoc/>
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lines)
        {
            _lines.Add($"{logLevel}: {formatter(state, exception)}");
        }
    }
}
