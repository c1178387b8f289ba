using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Store;

/// <summary>
/// A lease this controller holds on one job: renewed every third of its TTL; <see cref="Lost"/> is cancelled
/// when a renewal is refused (another controller took it after it expired) or when no renewal has succeeded for
/// a whole TTL (the store is unreachable: the lease may have expired on the database's clock). The job stops then.
/// </summary>
public sealed class HeldLease : IAsyncDisposable
{
    private readonly ControllerStore _store;
    private readonly TimeSpan _ttl;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewing;

    private HeldLease(ControllerStore store, StoreLease lease, TimeSpan ttl, ILogger logger, DateTimeOffset sent)
    {
        _store = store;
        Lease = lease;
        _ttl = ttl;
        _logger = logger;
        _renewing = RenewAsync(sent);
    }

    /// <summary>The lease, whose term fences the job's writes.</summary>
    public StoreLease Lease { get; }

    /// <summary>Cancelled when the lease is lost.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>True once the lease is lost.</summary>
    public bool IsLost => _lost.IsCancellationRequested;

    /// <summary>Takes <paramref name="name"/> for <paramref name="holder"/> when it is free or expired; null when another controller holds it.</summary>
    public static async Task<HeldLease?> TryTakeAsync(ControllerStore store, string name, string holder, TimeSpan ttl, ILogger logger, CancellationToken cancellationToken = default)
    {
        var sent = DateTimeOffset.UtcNow;
        if (await store.Leases.TryAcquireAsync(name, holder, ttl, cancellationToken) is not { } lease)
        {
            return null;
        }
        ControllerLog.LeaseTaken(logger, name, lease.Term);
        return new HeldLease(store, lease, ttl, logger, sent);
    }

    private async Task RenewAsync(DateTimeOffset lastSent)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_ttl / 3, _stop.Token);
                // Measured from when the last successful renewal was sent: the database's expiry is later than that.
                var sent = DateTimeOffset.UtcNow;
                try
                {
                    if (!await _store.Leases.RenewAsync(Lease, _ttl, _stop.Token))
                    {
                        Lose("another controller holds it now");
                        return;
                    }
                    lastSent = sent;
                }
                catch (Exception ex) when (ex is StoreException or System.Data.Common.DbException or InvalidOperationException)
                {
                    if (DateTimeOffset.UtcNow - lastSent >= _ttl)
                    {
                        Lose($"not renewed for {_ttl.TotalSeconds:0} s ({ex.Message})");
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Lose(string why)
    {
        ControllerLog.LeaseLost(_logger, Lease.Name, Lease.Term, why);
        _store.Leases.Lost(Lease.Name);
        _lost.Cancel();
    }

    /// <summary>Stops renewing and gives the lease up (when still held), so another controller need not wait for the expiry.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewing;
        if (!IsLost)
        {
            try
            {
                await _store.Leases.ReleaseAsync(Lease);
            }
            catch (Exception ex) when (ex is StoreException or System.Data.Common.DbException)
            {
                // It expires on its own.
            }
        }
        _stop.Dispose();
        _lost.Dispose();
    }
}

/// <summary>Keeps a lease for as long as the controller runs (taken again whenever it is lost): the mark that the controller lives.</summary>
public static class LeaseKeeping
{
    /// <summary>Holds <paramref name="name"/> until cancelled.</summary>
    public static async Task KeepAsync(ControllerStore store, string name, string holder, TimeSpan ttl, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                HeldLease? held = null;
                try
                {
                    held = await HeldLease.TryTakeAsync(store, name, holder, ttl, logger, cancellationToken);
                }
                catch (Exception ex) when (ex is StoreException or System.Data.Common.DbException)
                {
                    // The store is unreachable for now; try again.
                }
                if (held is null)
                {
                    await Task.Delay(ttl / 3, cancellationToken);
                    continue;
                }
                await using (held)
                {
                    using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, held.Lost);
                    try
                    {
                        await Task.Delay(Timeout.Infinite, either.Token);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // Lost: taken again at the top.
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
