using System.Security.Cryptography.X509Certificates;
using Hawser.Controller.Store;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Acme;

/// <summary>
/// Keeps every certificate the spec asks for obtained and current: it orders one that is missing,
/// whose domains or key type changed, that is within the last third of its lifetime, or whose
/// CA-suggested renewal time (RFC 9773, when the CA offers it) has come, after each apply and
/// every check interval. A failed order backs off per certificate (<paramref name="firstBackoff"/>, default
/// a minute, doubling to at most an hour, or longer when the CA says Retry-After) and is then retried; the back-off
/// is kept in the store with the certificate, so a restart or another controller continues it.
/// With several controllers on one store, each order runs under the certificate's lease (<c>certificate:NAME</c>)
/// on one controller; after taking it, the controller reads the certificate again, since another may have obtained it.
/// </summary>
public sealed class CertificateRenewer(ControllerStore store, Sessions.DesiredStates desired, CertificateIssuer issuer, ILogger logger, TimeSpan interval,
    TimeSpan? firstBackoff = null) : IDisposable
{
    private readonly TimeSpan _firstBackoff = firstBackoff ?? TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private DateTimeOffset? _leaseRetryAt;
    // Target nodes an order waits for (not connected, or not yet converged, at its preflight): the first report of any wakes the renewer.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _awaitedNodes = new(StringComparer.Ordinal);

    /// <summary>This controller's name in leases (shared stores only).</summary>
    public string Holder { get; init; } = Environment.MachineName;

    /// <summary>How long an order's lease lasts unless renewed (shared stores only).</summary>
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(15);

    // The earliest time the last check saw something due (a back-off's end, a renewal time): the loop wakes for it.
    private DateTimeOffset? _nextAttempt;

    /// <summary>Checks soon (after an apply).</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    /// <summary>Checks soon when an order waits for <paramref name="node"/>, which has just reported.</summary>
    public void NodeReported(string node)
    {
        if (_awaitedNodes.TryRemove(node, out _))
        {
            Wake();
        }
    }

    /// <summary>Checks now and then every interval, until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await CheckAsync(cancellationToken);
                await _wake.WaitAsync(NextWait(), cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Until the next check: the interval, or sooner when a failed order's back-off ends or a certificate's renewal time comes.</summary>
    private TimeSpan NextWait()
    {
        var wait = interval;
        // An order another controller holds is looked at again once its lease could have expired.
        if (_leaseRetryAt is { } retry && retry - DateTimeOffset.UtcNow < wait)
        {
            wait = retry - DateTimeOffset.UtcNow;
        }
        if (_nextAttempt is { } next && next - DateTimeOffset.UtcNow < wait)
        {
            wait = next - DateTimeOffset.UtcNow;
        }
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
    }

    /// <summary>What the newest revision asks for, or null before any apply.</summary>
    public async Task<CertificatePlan?> CurrentPlanAsync(CancellationToken cancellationToken) =>
        await store.Revisions.LatestAsync(cancellationToken) is { } latest ? desired.CertificatePlan(latest) : null;

    /// <summary>Orders every certificate that is due and not backing off.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        if (await CurrentPlanAsync(cancellationToken) is not { Acme: { } acme, Targets: var targets })
        {
            return;
        }
        var now = DateTimeOffset.UtcNow;
        _leaseRetryAt = null;
        _nextAttempt = null;
        foreach (var target in targets)
        {
            if (await BackingOffAsync(target.Name, now, cancellationToken))
            {
                continue;
            }
            if (!await DueAsync(acme, target, now, cancellationToken))
            {
                continue;
            }
            await using var lease = await TakeLeaseAsync(target.Name, cancellationToken);
            if (store.Engine.IsShared && lease is null)
            {
                // Another controller is ordering it.
                _leaseRetryAt = now + LeaseTtl;
                continue;
            }
            // Obtained meanwhile (by the controller that held the lease before), or failed there and backing off? Then not now.
            if (lease is not null && (!await DueAsync(acme, target, now, cancellationToken) || await BackingOffAsync(target.Name, now, cancellationToken)))
            {
                continue;
            }
            using var order = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease?.Lost ?? CancellationToken.None);
            try
            {
                var issued = await issuer.IssueAsync(acme, target, null, order.Token, lease?.Lease);
                ControllerLog.CertificateIssued(logger, target.Name, issued.Serial!, issued.NotAfter!.Value);
                Wakes(issued.RenewAt);
            }
            catch (Exception ex) when (ex is LeaseLostException || ex is OperationCanceledException && lease is { IsLost: true } && !cancellationToken.IsCancellationRequested)
            {
                // The lease went to another controller (HeldLease logged it), which orders the certificate now.
                _leaseRetryAt = now + LeaseTtl;
            }
            // Not a failure: nothing was ordered. Tried again when one of those nodes reports, or after the first back-off.
            catch (AwaitingNodesException waiting)
            {
                foreach (var node in waiting.Nodes)
                {
                    _awaitedNodes[node] = 0;
                }
                Wakes(DateTimeOffset.UtcNow + _firstBackoff);
                ControllerLog.CertificateAwaitingNodes(logger, target.Name, waiting.Message);
            }
            // Any failure of one order (the CA, a node, the store) backs off that certificate; the loop goes on.
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                var held = await store.Certificates.GetAsync(target.Name, cancellationToken);
                var next = held?.Backoff is { } previous ? TimeSpan.FromTicks(Math.Min(previous.Ticks * 2, MaxBackoff.Ticks)) : _firstBackoff;
                var at = DateTimeOffset.UtcNow + next;
                if ((ex as Client.AcmeException ?? ex.InnerException as Client.AcmeException) is { RetryAfter: { } retryAfter } && DateTimeOffset.UtcNow + retryAfter > at)
                {
                    at = DateTimeOffset.UtcNow + retryAfter;
                }
                if (ex is BreakerException { Until: var until } && until > at)
                {
                    at = until;
                }
                // The issuer stored the failure (with its event); this adds when the next attempt may be made.
                await store.Certificates.SetBackoffAsync(target.Name, target.Domains, at, next, cancellationToken);
                Wakes(at);
                ControllerLog.CertificateFailed(logger, target.Name, ex.Message, Math.Round((at - DateTimeOffset.UtcNow).TotalMinutes, 1));
            }
        }
    }

    /// <summary>Whether <paramref name="target"/> needs an order now, as the store holds it: missing, changed, or due for renewal.</summary>
    private async Task<bool> DueAsync(Shared.Spec.AcmeSpec acme, CertificateTarget target, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var held = await store.Certificates.GetAsync(target.Name, cancellationToken: cancellationToken);
        if (held?.ChainPem is null || !held.Domains.SequenceEqual(target.Domains) || KeyTypeOf(held.ChainPem) != target.KeyType)
        {
            return true;
        }
        var renewAt = await SuggestedRenewalAsync(acme, held, cancellationToken) is { } suggested && suggested < held.RenewAt ? suggested : held.RenewAt;
        if (renewAt <= now)
        {
            return true;
        }
        // Not yet: the loop wakes when it is, so a short-lived certificate (6 days, or minutes at a test CA) is never
        // checked later than its renewal time, whatever the check interval.
        Wakes(renewAt);
        return false;
    }

    /// <summary>Makes the loop check again no later than <paramref name="at"/>.</summary>
    private void Wakes(DateTimeOffset? at) => _nextAttempt = at is not { } time ? _nextAttempt : _nextAttempt is { } soonest && soonest < time ? soonest : time;

    /// <summary>True when <paramref name="name"/>'s stored back-off has not ended; the loop then wakes when it does.</summary>
    private async Task<bool> BackingOffAsync(string name, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if ((await store.Certificates.GetAsync(name, cancellationToken))?.NextAttempt is not { } next || next <= now)
        {
            return false;
        }
        Wakes(next);
        return true;
    }

    /// <summary>With a shared store, the lease on ordering <paramref name="name"/>, or null when another controller holds it; null with the embedded store, which needs none.</summary>
    private async Task<HeldLease?> TakeLeaseAsync(string name, CancellationToken cancellationToken) =>
        store.Engine.IsShared ? await HeldLease.TryTakeAsync(store, $"certificate:{name}", Holder, LeaseTtl, logger, cancellationToken) : null;

    /// <summary>The CA's renewal time for <paramref name="held"/> (RFC 9773), or null when it offers none or cannot be asked now.</summary>
    private async Task<DateTimeOffset?> SuggestedRenewalAsync(Shared.Spec.AcmeSpec acme, IssuedCertificateRecord held, CancellationToken cancellationToken)
    {
        try
        {
            return await issuer.SuggestedRenewalAsync(acme, held, cancellationToken);
        }
        catch (Exception ex) when (ex is Client.AcmeException or HttpRequestException)
        {
            ControllerLog.RenewalInfoFailed(logger, held.Name, ex.Message);
            return null;
        }
    }

    /// <summary>The spec's keyType name for the leaf key in <paramref name="chainPem"/>.</summary>
    internal static string KeyTypeOf(string chainPem)
    {
        using var leaf = X509Certificate2.CreateFromPem(chainPem);
        using var rsa = leaf.GetRSAPublicKey();
        return rsa is null ? "ecdsa-p256" : $"rsa-{rsa.KeySize}";
    }

    /// <summary>
    /// Orders <paramref name="name"/> now, whatever its state or back-off; a breaker's refusal or a CA's Retry-After still
    /// holds unless <paramref name="force"/>.
    /// </summary>
    public async Task<(CertificateTarget Target, IssuedCertificateRecord Issued)> RenewAsync(string name, IProgress<string>? progress, CancellationToken cancellationToken,
        bool force = false)
    {
        var latest = (await store.Revisions.LatestAsync(cancellationToken: cancellationToken)) ?? throw new CertificateOrderException("no spec has been applied yet");
        var (acme, targets, _) = desired.CertificatePlan(latest);
        var target = targets.FirstOrDefault(t => t.Name == name)
            ?? throw new CertificateOrderException($"revision {latest.Number} has no certificate '{name}' for the controller to obtain"
                + (targets.Count > 0 ? $"; it has: {string.Join(", ", targets.Select(t => t.Name))}" : ""));
        if (acme is null)
        {
            throw new CertificateOrderException($"revision {latest.Number} has no acme: block (directory, email)");
        }
        await using var lease = await TakeLeaseAsync(name, cancellationToken);
        if (store.Engine.IsShared && lease is null)
        {
            // Held by another controller, or by this one's renewer in the background: either way an order is under way.
            throw new CertificateOrderException($"certificate '{name}' is being ordered now (its lease certificate:{name} is held); wait for that order (hawserctl certs)");
        }
        var held = await store.Certificates.GetAsync(name, cancellationToken);
        if (!force && held is { NextAttempt: { } next, LastError: { } why } && next > DateTimeOffset.UtcNow && why.Contains("rateLimited", StringComparison.Ordinal))
        {
            throw new CertificateOrderException($"certificate '{name}': the CA limited its orders ({why}); not before {next:yyyy-MM-dd HH:mm:ss}Z. "
                + $"hawserctl certs renew {name} --force orders anyway");
        }
        using var order = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease?.Lost ?? CancellationToken.None);
        var issued = await issuer.IssueAsync(acme, target, progress, order.Token, lease?.Lease, force);
        // The loop learns the new certificate's renewal time at its next check: now.
        Wake();
        return (target, issued);
    }

    /// <inheritdoc/>
    public void Dispose() => _wake.Dispose();
}
