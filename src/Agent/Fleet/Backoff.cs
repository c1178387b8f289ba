namespace Hawser.Agent.Fleet;

/// <summary>Exponential backoff from 1 s to 60 s with ±50% jitter, so a fleet does not reconnect in step.</summary>
internal sealed class Backoff
{
    private static readonly TimeSpan First = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Longest = TimeSpan.FromSeconds(60);
    private TimeSpan _next = First;

    /// <summary>The wait before the next attempt; each call doubles the one after.</summary>
    public TimeSpan Next()
    {
        var wait = _next * (0.5 + Random.Shared.NextDouble());
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, Longest.Ticks));
        return wait;
    }

    /// <summary>Starts again from one second.</summary>
    public void Reset() => _next = First;
}
