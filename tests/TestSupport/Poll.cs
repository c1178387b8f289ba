namespace Hawser.TestSupport;

/// <summary>
/// Waiting for an event a test cannot subscribe to (a file appearing, a report stored, a clock passing a time):
/// the condition is checked every <see cref="Interval"/> until it holds or the time is up. The one poll loop the
/// tests share, so none of them sleeps a fixed time instead.
/// </summary>
public static class Poll
{
    /// <summary>How often the condition is checked unless a caller says otherwise.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>True once <paramref name="done"/> holds; false when <paramref name="timeout"/> passed first.</summary>
    public static async Task<bool> UntilAsync(Func<Task<bool>> done, TimeSpan timeout, TimeSpan? interval = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await done())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(interval ?? Interval);
        }
        return true;
    }

    /// <summary>As the other overload, for a condition that needs no await.</summary>
    public static Task<bool> UntilAsync(Func<bool> done, TimeSpan timeout, TimeSpan? interval = null) =>
        UntilAsync(() => Task.FromResult(done()), timeout, interval);
}
