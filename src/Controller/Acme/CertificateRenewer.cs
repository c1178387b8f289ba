using Hawser.Controller.Store;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Acme;

/// <summary>
/// Keeps every certificate the spec asks for obtained and current: it orders one that is missing,
/// whose domains changed, or that is within the last third of its lifetime, after each apply and
/// every check interval. A failed order backs off (1 minute, doubling, at most an hour) per certificate.
/// </summary>
public sealed class CertificateRenewer(ControllerStore store, Sessions.DesiredStates desired, CertificateIssuer issuer, ILogger logger, TimeSpan interval) : IDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Dictionary<string, (DateTimeOffset Until, TimeSpan Last)> _backoff = new(StringComparer.Ordinal);

    /// <summary>Checks soon (after an apply).</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
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
                await _wake.WaitAsync(interval, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>What the newest revision asks for, or null before any apply.</summary>
    public CertificatePlan? CurrentPlan() => store.LatestRevision() is { } latest ? desired.CertificatePlan(latest) : null;

    /// <summary>Orders every certificate that is due and not backing off.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        if (CurrentPlan() is not { Acme: { } acme, Targets: var targets })
        {
            return;
        }
        var now = DateTimeOffset.UtcNow;
        foreach (var target in targets)
        {
            var held = store.GetIssuedCertificate(target.Name);
            var due = held?.ChainPem is null || !held.Domains.SequenceEqual(target.Domains) || held.RenewAt <= now;
            if (!due || (_backoff.TryGetValue(target.Name, out var wait) && wait.Until > now))
            {
                continue;
            }
            try
            {
                var issued = await issuer.IssueAsync(acme, target, null, cancellationToken);
                _backoff.Remove(target.Name);
                ControllerLog.CertificateIssued(logger, target.Name, issued.Serial!, issued.NotAfter!.Value);
            }
            // Any failure of one order (the CA, a node, the store) backs off that certificate; the loop goes on.
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                var next = _backoff.TryGetValue(target.Name, out var previous) ? TimeSpan.FromTicks(Math.Min(previous.Last.Ticks * 2, MaxBackoff.Ticks)) : FirstBackoff;
                if (ex is Shared.Acme.AcmeException { RetryAfter: { } retryAfter } && retryAfter > next)
                {
                    next = retryAfter;
                }
                _backoff[target.Name] = (now + next, next);
                ControllerLog.CertificateFailed(logger, target.Name, ex.Message, Math.Round(next.TotalMinutes, 1));
            }
        }
    }

    /// <summary>Orders <paramref name="name"/> now, whatever its state or back-off.</summary>
    public async Task<(CertificateTarget Target, IssuedCertificateRecord Issued)> RenewAsync(string name, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var latest = store.LatestRevision() ?? throw new CertificateOrderException("no spec has been applied yet");
        var (acme, targets, _) = desired.CertificatePlan(latest);
        var target = targets.FirstOrDefault(t => t.Name == name)
            ?? throw new CertificateOrderException($"revision {latest.Number} has no certificate '{name}' for the controller to obtain"
                + (targets.Count > 0 ? $"; it has: {string.Join(", ", targets.Select(t => t.Name))}" : ""));
        if (acme is null)
        {
            throw new CertificateOrderException($"revision {latest.Number} has no acme: block (directory, email)");
        }
        var issued = await issuer.IssueAsync(acme, target, progress, cancellationToken);
        _backoff.Remove(name);
        return (target, issued);
    }

    /// <inheritdoc/>
    public void Dispose() => _wake.Dispose();
}
