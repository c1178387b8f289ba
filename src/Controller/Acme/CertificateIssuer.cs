using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Hawser.Controller.Pki;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store;
using Hawser.Controller.Acme.Client;
using Hawser.Shared.Acme;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.Certificates;

namespace Hawser.Controller.Acme;

/// <summary>A certificate the spec asks the controller to obtain: its names and the nodes that serve them.</summary>
/// <param name="Name">The spec's certificate name.</param>
/// <param name="Domains">The names it covers.</param>
/// <param name="Nodes">The nodes whose spec lists it; each answers the HTTP-01 challenge.</param>
/// <param name="KeyType"><c>ecdsa-p256</c> or <c>rsa-2048</c>.</param>
/// <param name="Profile">The CA profile to order, or null for the CA's default.</param>
/// <param name="Challenge">The challenge type that proves control: http-01 or dns-01.</param>
public sealed record CertificateTarget(string Name, IReadOnlyList<string> Domains, IReadOnlyList<string> Nodes, string KeyType = "ecdsa-p256", string? Profile = null,
    string Challenge = "http-01");

/// <summary>What one spec revision asks of the controller's ACME: the account settings and the certificates to obtain.</summary>
/// <param name="Acme">The spec's acme block, or null.</param>
/// <param name="Targets">The certificates without a local source, by name, each with its nodes.</param>
/// <param name="Errors">Certificates named alike with different domains on different nodes.</param>
public sealed record CertificatePlan(AcmeSpec? Acme, IReadOnlyList<CertificateTarget> Targets, IReadOnlyList<string> Errors)
{
    /// <summary>The names of the certificates <paramref name="node"/> receives from the controller.</summary>
    public IEnumerable<string> NamesFor(string node) => Targets.Where(t => t.Nodes.Contains(node, StringComparer.Ordinal)).Select(t => t.Name);
}

/// <summary>An order that could not be placed or completed; the message names the certificate and what failed.</summary>
public class CertificateOrderException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The breaker refused an order: too many for the same names lately. <see cref="Until"/> is when the oldest leaves the window.</summary>
public sealed class BreakerException(string message, DateTimeOffset until) : CertificateOrderException(message)
{
    /// <summary>When the breaker would let an order through.</summary>
    public DateTimeOffset Until { get; } = until;
}

/// <summary>
/// The order waits for target nodes whose addresses cannot answer HTTP-01 for them yet: not connected (a controller just
/// started, an agent restarting) or not yet converged the revision they were sent (a firewall rule opening the port).
/// Nothing was asked of the CA, so it is not an order failure: no event, no growing back-off; the certificate is tried
/// again when one of them reports, and its last error says whom it waits for.
/// </summary>
public sealed class AwaitingNodesException(string message, IReadOnlyList<string> nodes) : CertificateOrderException(message)
{
    /// <summary>The target nodes the order waits for.</summary>
    public IReadOnlyList<string> Nodes { get; } = nodes;
}

/// <summary>Tuning for <see cref="CertificateIssuer"/>.</summary>
public sealed record CertificateIssuerOptions
{
    /// <summary>How long every target node has to acknowledge a ChallengePut.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The ACME client's options.</summary>
    public AcmeClientOptions Client { get; init; } = new();

    /// <summary>Solvers beside the built-in HTTP-01 through the agents (one of the same type replaces it), e.g. DNS-01.</summary>
    public IReadOnlyList<IChallengeSolver> Solvers { get; init; } = [];

    /// <summary>Checks DNS and the nodes' answers before each order (when the spec's acme.preflight is on); null skips it.</summary>
    public CertificatePreflight? Preflight { get; init; }
}

/// <summary>
/// Obtains a certificate with ACME for every host that serves its names: before the CA is asked to
/// validate, each target node receives the HTTP-01 key authorization and acknowledges it, so the
/// CA can reach any of them. The key is made here, sealed in the store, and delivered to the nodes
/// in their desired state, where the certificate-files resource installs it.
/// </summary>
public sealed class CertificateIssuer(ControllerStore store, SecretBox box, CertificateMaterials materials, AgentSessions sessions,
    HttpClient http, CertificateIssuerOptions? options = null) : IDisposable
{
    private readonly CertificateIssuerOptions _options = options ?? new CertificateIssuerOptions();
    // The order running for each certificate, while it runs: a second caller for the same certificate joins it rather
    // than waiting on a lock held across the whole ACME exchange; the entry goes when the order ends.
    private readonly ConcurrentDictionary<string, (CertificateTarget Target, Lazy<Task<IssuedCertificateRecord>> Order)> _orders = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _account = new(1, 1);
    private readonly Dictionary<string, IChallengeSolver> _solvers = new[] { new Http01Solver(sessions, options?.AckTimeout ?? TimeSpan.FromSeconds(10)) }
        .Concat(options?.Solvers ?? []).GroupBy(s => s.Type, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);

    /// <summary>The spec's ACME settings and the certificates it asks the controller for (those without a local <c>source</c>).</summary>
    public static CertificatePlan PlanOf(string specText, string fileName)
    {
        var parsed = SpecParser.Parse(specText, fileName, SpecRules.Controller);
        return parsed.IsValid
            ? PlanOf(parsed.Spec!.Acme, parsed.Spec.Nodes.Keys.Select(node => SpecResolver.Resolve(parsed.Spec, node)))
            : new CertificatePlan(null, [], [.. parsed.Errors.Select(e => e.ToString())]);
    }

    /// <summary>As <see cref="PlanOf(string, string)"/>, from a spec's nodes already resolved (an apply resolves each node once).</summary>
    public static CertificatePlan PlanOf(AcmeSpec? acme, IEnumerable<ResolvedNode> nodes)
    {
        var byName = new SortedDictionary<string, (CertificateSpec Spec, List<string> Nodes)>(StringComparer.Ordinal);
        var errors = new List<string>();
        foreach (var node in nodes.OrderBy(n => n.Name, StringComparer.Ordinal))
        {
            foreach (var certificate in node.Blocks.Certificates?.Where(c => c.Source is null) ?? [])
            {
                if (!byName.TryGetValue(certificate.Name, out var entry))
                {
                    byName[certificate.Name] = (certificate, [node.Name]);
                }
                else if (entry.Spec.Domains.SequenceEqual(certificate.Domains) && entry.Spec.KeyType == certificate.KeyType && entry.Spec.Profile == certificate.Profile
                    && entry.Spec.Challenge == certificate.Challenge)
                {
                    entry.Nodes.Add(node.Name);
                }
                else
                {
                    errors.Add($"certificate '{certificate.Name}' has different domains, keyType or profile on {entry.Nodes[0]} and {node.Name}; one name is one certificate");
                }
            }
        }
        return new CertificatePlan(acme, [.. byName.Select(c => new CertificateTarget(c.Key, c.Value.Spec.Domains, c.Value.Nodes, c.Value.Spec.KeyType, c.Value.Spec.Profile, c.Value.Spec.Challenge))], errors);
    }

    /// <summary>
    /// Orders <paramref name="target"/> now and delivers it; the failure is also stored. One order per certificate runs at a
    /// time: a call while one for the same target runs gets that order's outcome; for a changed target (other domains,
    /// key type, profile or challenge), it orders again once that one ended. With <paramref name="lease"/> the certificate
    /// is stored only while the lease is held (<see cref="LeaseLostException"/> otherwise).
    /// </summary>
    public async Task<IssuedCertificateRecord> IssueAsync(AcmeSpec acme, CertificateTarget target, IProgress<string>? progress, CancellationToken cancellationToken,
        StoreLease? lease = null, bool force = false)
    {
        while (true)
        {
            var mine = new Lazy<Task<IssuedCertificateRecord>>(() => OrderAndDeliverAsync(acme, target, progress, lease, force, cancellationToken));
            var running = _orders.GetOrAdd(target.Name, (target, mine));
            if (ReferenceEquals(running.Order, mine))
            {
                try
                {
                    return await mine.Value;
                }
                finally
                {
                    _orders.TryRemove(new KeyValuePair<string, (CertificateTarget, Lazy<Task<IssuedCertificateRecord>>)>(target.Name, running));
                }
            }
            progress?.Report($"{target.Name}: an order for it is running already; waiting for it");
            try
            {
                var outcome = await running.Order.Value.WaitAsync(cancellationToken);
                if (SameOrder(running.Target, target))
                {
                    return outcome;
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (ex is OperationCanceledException || !SameOrder(running.Target, target)))
            {
                // That order was cancelled by its own caller, or was for another target: order anew.
            }
            // The order waited for has ended; its entry goes now if its caller has not removed it yet.
            _orders.TryRemove(new KeyValuePair<string, (CertificateTarget, Lazy<Task<IssuedCertificateRecord>>)>(target.Name, running));
        }
    }

    private static bool SameOrder(CertificateTarget a, CertificateTarget b) =>
        a.Domains.SequenceEqual(b.Domains, StringComparer.Ordinal) && a.KeyType == b.KeyType && a.Profile == b.Profile && a.Challenge == b.Challenge
        && a.Nodes.SequenceEqual(b.Nodes, StringComparer.Ordinal);

    private async Task<IssuedCertificateRecord> OrderAndDeliverAsync(AcmeSpec acme, CertificateTarget target, IProgress<string>? progress, StoreLease? lease,
        bool force, CancellationToken cancellationToken)
    {
        try
        {
            var (record, keyPem) = await OrderAsync(acme, target, progress, force, cancellationToken);
            await store.Certificates.SaveAsync(record, lease, cancellationToken: cancellationToken);
            materials.Set(target.Name, record.ChainPem!, keyPem, record.Serial!);
            // The target nodes get their desired state, which now carries the certificate.
            await sessions.PushCurrentAsync(target.Nodes);
            return (await store.Certificates.GetAsync(target.Name, cancellationToken: cancellationToken))!;
        }
        catch (Exception ex) when (ex is AcmeException or CertificateOrderException)
        {
            await store.Certificates.RecordErrorAsync(target.Name, target.Domains, ex.Message, failed: ex is not AwaitingNodesException, cancellationToken: cancellationToken);
            throw;
        }
    }

    /// <summary>
    /// One order to the end, at the first issuer that can: an order that fails at one CA for a reason the next could fix (it
    /// cannot be reached, limits this account, refuses the names by policy or CAA, wants an account binding) goes to the next.
    /// The record to store (key sealed, its issuer named) and the key's PEM for delivery.
    /// </summary>
    private async Task<(IssuedCertificateRecord Record, string KeyPem)> OrderAsync(AcmeSpec acme, CertificateTarget target, IProgress<string>? progress, bool force,
        CancellationToken cancellationToken)
    {
        if (!force)
        {
            await CheckBreakerAsync(target, cancellationToken);
        }
        // The preflight asks the nodes over HTTP; a dns-01 name need not point at them at all. It is the same for every CA.
        if (acme.Preflight && _options.Preflight is { } preflight && target.Challenge == "http-01")
        {
            var thumbprint = acme.StatelessFallback ? (await AccountKeyAsync(cancellationToken)).Thumbprint : null;
            await preflight.CheckAsync(target, acme.ValidationPort, thumbprint, progress, cancellationToken);
        }
        var failures = new List<string>();
        var issuers = acme.Issuers;
        for (var i = 0; ; i++)
        {
            try
            {
                return await OrderAtAsync(acme, issuers[i], target, progress, cancellationToken);
            }
            catch (AcmeException ex) when (i < issuers.Count - 1 && FailsOver(ex))
            {
                failures.Add($"{issuers[i].Directory}: {ex.Message}");
                progress?.Report($"{target.Name}: {issuers[i].Directory} could not issue it ({ex.Message}); trying {issuers[i + 1].Directory}");
            }
            catch (AcmeException ex) when (failures.Count > 0)
            {
                throw new CertificateOrderException($"certificate '{target.Name}': no issuer could issue it: {string.Join("; ", failures)}; {issuers[i].Directory}: {ex.Message}", ex);
            }
        }
    }

    /// <summary>True for a failure another CA could not share: this one unreachable or failing, rate limiting, refusing the names by policy or CAA, or wanting an account binding.</summary>
    internal static bool FailsOver(AcmeException failure) =>
        failure.Kind is AcmeErrorKind.ServerInternal or AcmeErrorKind.RateLimited or AcmeErrorKind.RejectedIdentifier or AcmeErrorKind.ExternalAccountRequired
        || failure.Type?.EndsWith(":caa", StringComparison.Ordinal) == true;

    /// <summary>One order at one CA.</summary>
    private async Task<(IssuedCertificateRecord Record, string KeyPem)> OrderAtAsync(AcmeSpec acme, AcmeIssuerSpec issuer, CertificateTarget target, IProgress<string>? progress,
        CancellationToken cancellationToken)
    {
        var client = await AccountAsync(acme, issuer, cancellationToken);
        var order = await client.NewOrderAsync([.. target.Domains.Select(AcmeIdentifier.Dns)], target.Profile, await ReplacedIdAsync(acme, target.Name, issuer.Directory, cancellationToken),
            cancellationToken);
        await store.Certificates.RecordOrderAsync(target.Name, target.Domains, cancellationToken);
        progress?.Report($"{target.Name}: order {order.Location} for {string.Join(", ", target.Domains)}");
        foreach (var url in order.Authorizations)
        {
            var authorization = await client.GetAuthorizationAsync(url, cancellationToken);
            if (authorization.Status == "valid")
            {
                continue;
            }
            var solver = _solvers.GetValueOrDefault(target.Challenge)
                ?? throw new CertificateOrderException($"certificate '{target.Name}': this controller cannot solve {target.Challenge} challenges");
            var challenge = authorization.Challenges.FirstOrDefault(c => c.Type == solver.Type)
                ?? throw new CertificateOrderException($"certificate '{target.Name}': the CA offers no {solver.Type} challenge for {authorization.Identifier.Value}"
                    + $" (it offers: {string.Join(", ", authorization.Challenges.Select(c => c.Type))})");
            await ValidateAsync(new ChallengeContext(client, target, authorization.Identifier.Value, challenge, acme), solver, url, progress, cancellationToken);
        }
        using AsymmetricAlgorithm key = target.KeyType == "rsa-2048" ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var valid = await client.FinalizeAsync(order, AcmeClient.CreateSigningRequest(target.Domains, key), cancellationToken);
        var chain = await client.DownloadCertificateAsync(valid.Certificate!, cancellationToken);
        using var leaf = X509Certificate2.CreateFromPem(chain.ChainPem);
        progress?.Report($"{target.Name}: issued serial {leaf.SerialNumber} by {issuer.Directory}, valid until {leaf.NotAfter.ToUniversalTime():u}");
        var keyPem = key.ExportPkcs8PrivateKeyPem();
        return (new IssuedCertificateRecord
        {
            Name = target.Name,
            Domains = target.Domains,
            ChainPem = chain.ChainPem,
            KeySealed = box.Seal(Encoding.ASCII.GetBytes(keyPem)),
            Serial = leaf.SerialNumber,
            NotBefore = leaf.NotBefore.ToUniversalTime(),
            NotAfter = leaf.NotAfter.ToUniversalTime(),
            Issuer = issuer.Directory.ToString(),
        }, keyPem);
    }

    /// <summary>Most orders for one set of names within the breaker's window; the next is refused unless forced.</summary>
    public const int BreakerOrders = 3;

    /// <summary>
    /// Refuses a fourth order for the same set of names within a week, or within one lifetime of the certificate held when
    /// that is shorter (a 6-day certificate is renewed about twice a week): more is a storm (a renewal that never sticks, a
    /// restart loop), which would burn the CA's duplicate-certificate limit for every host behind these names.
    /// </summary>
    private async Task CheckBreakerAsync(CertificateTarget target, CancellationToken cancellationToken)
    {
        var held = await store.Certificates.GetAsync(target.Name, cancellationToken);
        var window = held is { NotBefore: { } from, NotAfter: { } to } && to - from < BreakerWindow ? to - from : BreakerWindow;
        var orders = await store.Certificates.OrdersSinceAsync(target.Domains, DateTimeOffset.UtcNow - window, cancellationToken);
        if (orders.Count >= BreakerOrders)
        {
            var until = orders[^BreakerOrders] + window;
            throw new BreakerException($"certificate '{target.Name}': {orders.Count} orders for {string.Join(", ", target.Domains)} since {orders[0]:yyyy-MM-dd HH:mm:ss}Z; "
                + $"the breaker allows {BreakerOrders} in {Hawser.Shared.Cli.Durations.Format(window)}, so a fourth is not placed before {until:yyyy-MM-dd HH:mm:ss}Z "
                + $"(this protects the CA's limits from an order storm); hawserctl certs renew {target.Name} --force orders anyway", until);
        }
    }

    /// <summary>The breaker's longest window.</summary>
    public static readonly TimeSpan BreakerWindow = TimeSpan.FromDays(7);

    /// <summary>
    /// RFC 9773's id of the certificate this order replaces (the client sends it only to a CA with renewalInfo), for an order
    /// at <paramref name="directory"/> only when that CA issued it: another CA does not know the certificate.
    /// </summary>
    private async Task<string?> ReplacedIdAsync(AcmeSpec acme, string name, Uri directory, CancellationToken cancellationToken)
    {
        if (await store.Certificates.GetAsync(name, cancellationToken) is not { ChainPem: { } chain } held || IssuerOf(acme, held)?.Directory != directory)
        {
            return null;
        }
        using var leaf = X509Certificate2.CreateFromPem(chain);
        return leaf.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().Any() ? AcmeClient.RenewalCertificateId(leaf) : null;
    }

    /// <summary>The spec's issuer that issued <paramref name="record"/> (one stored before issuers were recorded came from the first); null when the spec no longer lists it.</summary>
    private static AcmeIssuerSpec? IssuerOf(AcmeSpec acme, IssuedCertificateRecord record) =>
        record.Issuer is { } recorded ? acme.Issuers.FirstOrDefault(i => i.Directory.ToString() == recorded) : acme.Issuers[0];

    /// <summary>
    /// When the CA's renewal information (RFC 9773) says to renew <paramref name="record"/>: a point inside
    /// its suggested window, fixed per serial so each check does not pick anew; null when the CA has none.
    /// Asked of the CA that issued it.
    /// </summary>
    public async Task<DateTimeOffset?> SuggestedRenewalAsync(AcmeSpec acme, IssuedCertificateRecord record, CancellationToken cancellationToken)
    {
        // Asking is not worth creating an account: without one for this CA, its certificate came from elsewhere.
        if (record.ChainPem is null || record.Serial is null || IssuerOf(acme, record) is not { } issuer
            || (await store.Certificates.GetAccountAsync(issuer.Directory, cancellationToken: cancellationToken)) is null)
        {
            return null;
        }
        var client = await AccountAsync(acme, issuer, cancellationToken);
        using var leaf = X509Certificate2.CreateFromPem(record.ChainPem);
        return await client.GetRenewalInfoAsync(leaf, cancellationToken) is { } info ? PointInWindow(info.SuggestedWindow, record.Serial) : null;
    }

    /// <summary>A point in <paramref name="window"/> chosen by <paramref name="serial"/>'s hash, spreading a fleet's renewals as RFC 9773 asks.</summary>
    public static DateTimeOffset PointInWindow(AcmeWindow window, string serial)
    {
        if (window.End <= window.Start)
        {
            return window.Start;
        }
        var fraction = BitConverter.ToUInt32(SHA256.HashData(Encoding.ASCII.GetBytes(serial)), 0) / (double)uint.MaxValue;
        return window.Start + (window.End - window.Start) * fraction;
    }

    /// <summary>The solver makes the challenge answerable, the CA validates, and the solver cleans up whatever happened.</summary>
    private static async Task ValidateAsync(ChallengeContext context, IChallengeSolver solver, Uri authorization, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        await using var prepared = await solver.PrepareAsync(context, progress, cancellationToken);
        await context.Client.AnswerChallengeAsync(context.Challenge.Url, cancellationToken);
        await context.Client.WaitForAuthorizationAsync(authorization, cancellationToken);
    }

    // The account key made for a first account, until that account is registered and the key stored with it.
    private AcmeAccountKey? _newKey;

    /// <summary>
    /// The one account key, used at every CA: the stored one, or one made now (stored with the first account). One key means
    /// one thumbprint, so the agents' stateless HTTP-01 answer is right whichever CA validates.
    /// </summary>
    private async Task<AcmeAccountKey> AccountKeyAsync(CancellationToken cancellationToken)
    {
        await _account.WaitAsync(cancellationToken);
        try
        {
            return await StoredKeyAsync(cancellationToken) ?? (_newKey ??= AcmeAccountKey.CreateEs256());
        }
        finally
        {
            _account.Release();
        }
    }

    private async Task<AcmeAccountKey?> StoredKeyAsync(CancellationToken cancellationToken) =>
        await store.Certificates.AnyAccountKeyAsync(cancellationToken) is { } sealedKey ? AcmeAccountKey.FromPem(Encoding.ASCII.GetString(box.Open(sealedKey))) : null;

    /// <summary>The account at <paramref name="issuer"/>: from the store, or registered now with the one account key (and stored, key sealed), with its binding when it has one.</summary>
    private async Task<AcmeClient> AccountAsync(AcmeSpec acme, AcmeIssuerSpec issuer, CancellationToken cancellationToken)
    {
        await _account.WaitAsync(cancellationToken);
        try
        {
            if ((await store.Certificates.GetAccountAsync(issuer.Directory, cancellationToken: cancellationToken)) is var (sealedKey, url))
            {
                var key = AcmeAccountKey.FromPem(Encoding.ASCII.GetString(box.Open(sealedKey)));
                materials.Thumbprint = acme.StatelessFallback ? key.Thumbprint : "";
                return new AcmeClient(http, issuer.Directory, key, _options.Client) { AccountUrl = url };
            }
            var accountKey = await StoredKeyAsync(cancellationToken) ?? (_newKey ??= AcmeAccountKey.CreateEs256());
            var client = new AcmeClient(http, issuer.Directory, accountKey, _options.Client);
            var (kid, hmac) = issuer.Eab is { } eab ? (eab.Kid, ReadMacKey(eab)) : ((string?)null, (string?)null);
            var account = await client.NewAccountAsync(acme.Email is { } email ? [$"mailto:{email}"] : [], agreeToTerms: true, kid, hmac, cancellationToken);
            await store.Certificates.SaveAccountAsync(issuer.Directory, box.Seal(Encoding.ASCII.GetBytes(accountKey.ExportPem())), account.Location!, cancellationToken: cancellationToken);
            materials.Thumbprint = acme.StatelessFallback ? accountKey.Thumbprint : "";
            return client;
        }
        finally
        {
            _account.Release();
        }
    }

    /// <summary>An account binding's MAC key, from its file on the controller; refused when others may read it.</summary>
    private static string ReadMacKey(AcmeEabSpec eab)
    {
        try
        {
            if ((File.GetUnixFileMode(eab.HmacKeyFile) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                throw new CertificateOrderException($"eab hmacKeyFile {eab.HmacKeyFile} may be read by group or others; chmod 600 it (it is the CA account's secret)");
            }
            return File.ReadAllText(eab.HmacKeyFile).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CertificateOrderException($"eab hmacKeyFile {eab.HmacKeyFile}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _account.Dispose();
        _newKey?.Dispose();
    }
}
