using System.Collections.Concurrent;
using System.Net;

namespace Hawser.Controller.Web;

/// <summary>
/// Per-address back-off for web logins: after <see cref="FreeFailures"/> wrong attempts from one address,
/// each further attempt must wait (1 s, doubling to <see cref="MaxDelay"/>) after the last failure; an attempt
/// inside that wait is refused before the token is even compared, so guessing runs at a few tries a minute.
/// A success clears the address; failures are forgotten after <see cref="Forget"/> of quiet.
/// </summary>
public sealed class LoginThrottle(TimeProvider? clock = null)
{
    private readonly ConcurrentDictionary<IPAddress, (int Failures, DateTimeOffset Last)> _failures = new();
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>Wrong attempts allowed before the back-off starts (typos happen).</summary>
    public const int FreeFailures = 5;

    /// <summary>The longest wait between attempts.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(1);

    /// <summary>Quiet time after which an address's failures are forgotten.</summary>
    public static readonly TimeSpan Forget = TimeSpan.FromMinutes(15);

    /// <summary>How long <paramref name="address"/> must still wait before its next attempt is looked at; zero when it may try now.</summary>
    public TimeSpan WaitFor(IPAddress address)
    {
        if (!_failures.TryGetValue(address, out var entry))
        {
            return TimeSpan.Zero;
        }
        var now = _clock.GetUtcNow();
        if (now - entry.Last > Forget)
        {
            _failures.TryRemove(address, out _);
            return TimeSpan.Zero;
        }
        var left = entry.Last + Delay(entry.Failures) - now;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>Records a wrong attempt.</summary>
    public void Failed(IPAddress address)
    {
        var now = _clock.GetUtcNow();
        _failures.AddOrUpdate(address, (1, now), (_, entry) => (entry.Failures + 1, now));
        // Bounded memory under a spray from many addresses: drop what is forgotten anyway.
        if (_failures.Count > 10_000)
        {
            foreach (var stale in _failures.Where(f => now - f.Value.Last > Forget))
            {
                _failures.TryRemove(stale.Key, out _);
            }
        }
    }

    /// <summary>Clears an address after a successful login.</summary>
    public void Succeeded(IPAddress address) => _failures.TryRemove(address, out _);

    private static TimeSpan Delay(int failures) => failures < FreeFailures ? TimeSpan.Zero
        : TimeSpan.FromSeconds(Math.Min(MaxDelay.TotalSeconds, Math.Pow(2, failures - FreeFailures)));
}
