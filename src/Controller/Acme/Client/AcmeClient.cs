using System.Formats.Asn1;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Hawser.Controller.Acme.Client;

/// <summary>Tuning for <see cref="AcmeClient"/>.</summary>
public sealed record AcmeClientOptions
{
    /// <summary>How often a request refused with badNonce is retried with a fresh nonce (section 6.5).</summary>
    public int BadNonceRetries { get; init; } = 5;

    /// <summary>The longest wait between polls when the CA sends no Retry-After; the first waits are shorter (100 ms, doubling).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest Retry-After honoured while polling (a CA asking for more is polled at this).</summary>
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an authorization or order may stay pending or processing.</summary>
    public TimeSpan PollTimeout { get; init; } = TimeSpan.FromMinutes(3);
}

/// <summary>
/// An RFC 8555 ACME client: directory, nonces (with badNonce retry), JWS-signed requests, accounts
/// (with External Account Binding and key rollover), orders, authorizations, challenges, finalize,
/// certificate download with alternate chains, revocation, and RFC 9773 renewal information.
/// Every CA error becomes an <see cref="AcmeException"/> with the CA's type and detail.
/// </summary>
public sealed class AcmeClient(HttpClient http, Uri directoryUrl, AcmeAccountKey key, AcmeClientOptions? options = null)
{
    private readonly AcmeClientOptions _options = options ?? new AcmeClientOptions();
    private readonly Lock _nonceLock = new();
    private readonly Stack<string> _nonces = new();
    private AcmeDirectory? _directory;

    /// <summary>How many requests were signed again after a badNonce refusal.</summary>
    public int BadNonceRetries => _badNonceRetries;

    private int _badNonceRetries;

    /// <summary>The account key requests are signed with (changes after <see cref="ChangeKeyAsync"/>).</summary>
    public AcmeAccountKey Key { get; private set; } = key;

    /// <summary>The account URL, known after <see cref="NewAccountAsync"/> or <see cref="FindAccountAsync"/> (or set from the store).</summary>
    public Uri? AccountUrl { get; set; }

    /// <summary>The directory (fetched once).</summary>
    public async Task<AcmeDirectory> GetDirectoryAsync(CancellationToken cancellationToken)
    {
        if (_directory is not null)
        {
            return _directory;
        }
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, directoryUrl), "GET directory", cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        ThrowIfProblem(response, body, $"GET {directoryUrl}");
        return _directory = Parse(body, AcmeJsonContext.Default.AcmeDirectory, $"the directory at {directoryUrl}");
    }

    /// <summary>
    /// Creates the account for this key, or returns the existing one (section 7.3). <paramref name="eabKeyId"/> and
    /// <paramref name="eabHmacKey"/> (base64url) bind it to an account the CA already knows (section 7.3.4).
    /// </summary>
    public async Task<AcmeAccount> NewAccountAsync(IReadOnlyList<string> contacts, bool agreeToTerms, string? eabKeyId, string? eabHmacKey, CancellationToken cancellationToken)
    {
        var directory = await GetDirectoryAsync(cancellationToken);
        JsonElement? binding = null;
        if (eabKeyId is not null && eabHmacKey is not null)
        {
            byte[] hmac;
            try
            {
                hmac = Base64Url.Decode(eabHmacKey);
            }
            catch (FormatException)
            {
                throw new AcmeException("the External Account Binding HMAC key is not base64url");
            }
            binding = JsonDocument.Parse(AcmeAccountKey.SignHs256(directory.NewAccount.ToString(), eabKeyId, hmac, Key.Jwk)).RootElement.Clone();
        }
        else if (directory.Meta?.ExternalAccountRequired == true)
        {
            throw new AcmeException($"{directoryUrl} requires External Account Binding: give its key id and HMAC key");
        }
        var request = new NewAccountRequest { Contact = [.. contacts], TermsOfServiceAgreed = agreeToTerms ? true : null, ExternalAccountBinding = binding };
        return await AccountRequestAsync(directory, request, cancellationToken);
    }

    /// <summary>The existing account for this key (onlyReturnExisting); accountDoesNotExist when there is none.</summary>
    public async Task<AcmeAccount> FindAccountAsync(CancellationToken cancellationToken) =>
        await AccountRequestAsync(await GetDirectoryAsync(cancellationToken), new NewAccountRequest { OnlyReturnExisting = true }, cancellationToken);

    private async Task<AcmeAccount> AccountRequestAsync(AcmeDirectory directory, NewAccountRequest request, CancellationToken cancellationToken)
    {
        var (response, body) = await PostAsync(directory.NewAccount, Serialize(request, AcmeJsonContext.Default.NewAccountRequest), useJwk: true, "newAccount", cancellationToken);
        using (response)
        {
            AccountUrl = response.Headers.Location ?? throw new AcmeException("newAccount: the CA sent no account URL (Location)");
            return Parse(body, AcmeJsonContext.Default.AcmeAccount, "the account") with { Location = AccountUrl };
        }
    }

    /// <summary>Replaces the account key with <paramref name="newKey"/> (section 7.3.5); later requests are signed with it.</summary>
    public async Task ChangeKeyAsync(AcmeAccountKey newKey, CancellationToken cancellationToken)
    {
        var directory = await GetDirectoryAsync(cancellationToken);
        var url = directory.KeyChange ?? throw new AcmeException($"{directoryUrl} offers no keyChange");
        var account = AccountUrl ?? throw new InvalidOperationException("the account URL is not known yet");
        var inner = newKey.Sign(url.ToString(), nonce: null, kid: null,
            Serialize(new KeyChangeRequest(account, JsonDocument.Parse(Key.Jwk).RootElement.Clone()), AcmeJsonContext.Default.KeyChangeRequest));
        var (response, _) = await PostAsync(url, inner, useJwk: false, "keyChange", cancellationToken);
        response.Dispose();
        Key = newKey;
    }

    /// <summary>A new order for <paramref name="identifiers"/> (section 7.4), with a profile and the certificate it replaces (RFC 9773) when given.</summary>
    public async Task<AcmeOrder> NewOrderAsync(IReadOnlyList<AcmeIdentifier> identifiers, string? profile, string? replaces, CancellationToken cancellationToken)
    {
        var directory = await GetDirectoryAsync(cancellationToken);
        if (profile is not null && directory.Meta?.Profiles?.ContainsKey(profile) != true)
        {
            var offered = directory.Meta?.Profiles is { Count: > 0 } profiles ? string.Join(", ", profiles.Keys) : "none";
            throw new AcmeException($"the CA does not offer the profile '{profile}' (offered: {offered})");
        }
        var request = new NewOrderRequest { Identifiers = [.. identifiers], Profile = profile, Replaces = directory.RenewalInfo is null ? null : replaces };
        var (response, body) = await PostAsync(directory.NewOrder, Serialize(request, AcmeJsonContext.Default.NewOrderRequest), useJwk: false, "newOrder", cancellationToken);
        using (response)
        {
            var location = response.Headers.Location ?? throw new AcmeException("newOrder: the CA sent no order URL (Location)");
            return Parse(body, AcmeJsonContext.Default.AcmeOrder, "the order") with { Location = location };
        }
    }

    /// <summary>The order at <paramref name="url"/>.</summary>
    public async Task<AcmeOrder> GetOrderAsync(Uri url, CancellationToken cancellationToken) =>
        (await PostAsGetAsync(url, AcmeJsonContext.Default.AcmeOrder, "order", cancellationToken)) with { Location = url };

    /// <summary>The authorization at <paramref name="url"/>.</summary>
    public Task<AcmeAuthorization> GetAuthorizationAsync(Uri url, CancellationToken cancellationToken) =>
        PostAsGetAsync(url, AcmeJsonContext.Default.AcmeAuthorization, "authorization", cancellationToken);

    /// <summary>Tells the CA the challenge can be validated now (section 7.5.1).</summary>
    public async Task<AcmeChallenge> AnswerChallengeAsync(Uri challenge, CancellationToken cancellationToken)
    {
        var (response, body) = await PostAsync(challenge, Serialize(new EmptyRequest(), AcmeJsonContext.Default.EmptyRequest), useJwk: false, "challenge", cancellationToken);
        using (response)
        {
            return Parse(body, AcmeJsonContext.Default.AcmeChallenge, "the challenge");
        }
    }

    /// <summary>Polls the authorization until it is no longer pending (honouring Retry-After); returns it valid, or throws with the challenge's error.</summary>
    public async Task<AcmeAuthorization> WaitForAuthorizationAsync(Uri url, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + _options.PollTimeout;
        for (var poll = 0; ; poll++)
        {
            var (authorization, retryAfter) = await PostAsGetWithRetryAfterAsync(url, AcmeJsonContext.Default.AcmeAuthorization, "authorization", cancellationToken);
            switch (authorization.Status)
            {
                case "valid":
                    return authorization;
                case "pending" or "processing" when DateTime.UtcNow < deadline:
                    await Task.Delay(PollDelay(retryAfter, poll), cancellationToken);
                    continue;
                case "pending" or "processing":
                    throw new AcmeException($"the authorization of {authorization.Identifier.Value} is still {authorization.Status} after {_options.PollTimeout.TotalSeconds:0} s");
                default:
                    var failed = authorization.Challenges.FirstOrDefault(c => c.Error is not null);
                    throw failed?.Error is { } problem
                        ? new AcmeException($"validating {authorization.Identifier.Value} ({failed.Type})", problem, problem.Status ?? 403, null)
                        : new AcmeException($"the authorization of {authorization.Identifier.Value} is {authorization.Status}");
            }
        }
    }

    /// <summary>Sends the CSR (DER) and polls the order until it is valid; throws with the order's error otherwise.</summary>
    public async Task<AcmeOrder> FinalizeAsync(AcmeOrder order, byte[] csr, CancellationToken cancellationToken)
    {
        var url = order.Finalize ?? throw new AcmeException("the order has no finalize URL");
        var (response, body) = await PostAsync(url, Serialize(new FinalizeRequest(Base64Url.Encode(csr)), AcmeJsonContext.Default.FinalizeRequest), useJwk: false, "finalize", cancellationToken);
        var retryAfter = RetryAfterOf(response);
        response.Dispose();
        var current = Parse(body, AcmeJsonContext.Default.AcmeOrder, "the order") with { Location = order.Location };
        var deadline = DateTime.UtcNow + _options.PollTimeout;
        for (var poll = 0; current.Status is "processing" or "pending" or "ready"; poll++)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new AcmeException($"the order is still {current.Status} {_options.PollTimeout.TotalSeconds:0} s after finalize");
            }
            await Task.Delay(PollDelay(retryAfter, poll), cancellationToken);
            (current, retryAfter) = await PostAsGetWithRetryAfterAsync(order.Location!, AcmeJsonContext.Default.AcmeOrder, "order", cancellationToken);
            current = current with { Location = order.Location };
        }
        return current.Status == "valid" && current.Certificate is not null
            ? current
            : throw (current.Error is { } problem
                ? new AcmeException("finalize", problem, problem.Status ?? 403, null)
                : new AcmeException($"the order is {current.Status} after finalize"));
    }

    /// <summary>Downloads the chain (PEM, leaf first) and the URLs of the CA's alternate chains (section 7.4.2).</summary>
    public async Task<AcmeCertificateChain> DownloadCertificateAsync(Uri url, CancellationToken cancellationToken)
    {
        var (response, body) = await PostAsync(url, [], useJwk: false, "certificate", cancellationToken, accept: "application/pem-certificate-chain");
        using (response)
        {
            var alternates = response.Headers.TryGetValues("Link", out var links)
                ? links.SelectMany(SplitLinks).Where(l => l.Rel == "alternate").Select(l => new Uri(url, l.Target)).ToList()
                : [];
            return new AcmeCertificateChain(Encoding.ASCII.GetString(body), alternates);
        }
    }

    /// <summary>Revokes <paramref name="certificate"/> (section 7.6), signed by the account; reason per RFC 5280 (null: unspecified).</summary>
    public async Task RevokeAsync(X509Certificate2 certificate, int? reason, CancellationToken cancellationToken)
    {
        var directory = await GetDirectoryAsync(cancellationToken);
        var url = directory.RevokeCert ?? throw new AcmeException($"{directoryUrl} offers no revokeCert");
        var (response, _) = await PostAsync(url, Serialize(new RevokeRequest(Base64Url.Encode(certificate.RawData), reason), AcmeJsonContext.Default.RevokeRequest), useJwk: false, "revokeCert", cancellationToken);
        response.Dispose();
    }

    /// <summary>The CA's suggested renewal window (RFC 9773), or null when the directory has no renewalInfo.</summary>
    public async Task<AcmeRenewalInfo?> GetRenewalInfoAsync(X509Certificate2 certificate, CancellationToken cancellationToken)
    {
        var directory = await GetDirectoryAsync(cancellationToken);
        if (directory.RenewalInfo is not { } endpoint)
        {
            return null;
        }
        var url = new Uri(endpoint.ToString().TrimEnd('/') + "/" + RenewalCertificateId(certificate));
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, url), "GET renewalInfo", cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        ThrowIfProblem(response, body, $"GET {url}");
        return Parse(body, AcmeJsonContext.Default.AcmeRenewalInfo, "the renewal information");
    }

    /// <summary>RFC 9773's certificate identifier: base64url(authority key identifier) "." base64url(serial number).</summary>
    public static string RenewalCertificateId(X509Certificate2 certificate)
    {
        var aki = certificate.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().FirstOrDefault()?.KeyIdentifier
            ?? throw new AcmeException("the certificate has no authority key identifier, which renewal information needs");
        // The serial as DER encodes it: the INTEGER's content octets, leading zero included.
        var serial = new AsnWriter(AsnEncodingRules.DER);
        serial.WriteInteger(certificate.SerialNumberBytes.Span, null);
        var encoded = serial.Encode();
        return $"{Base64Url.Encode(aki.Span)}.{Base64Url.Encode(encoded.AsSpan(2))}";
    }

    /// <summary>A CSR (DER) for <paramref name="domains"/> with <paramref name="key"/>: the first name is the subject, all are SANs.</summary>
    public static byte[] CreateSigningRequest(IReadOnlyList<string> domains, AsymmetricAlgorithm key)
    {
        var request = key switch
        {
            ECDsa ec => new CertificateRequest($"CN={domains[0]}", ec, HashAlgorithmName.SHA256),
            RSA rsa => new CertificateRequest($"CN={domains[0]}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            _ => throw new ArgumentException("the certificate key must be ECDSA or RSA", nameof(key)),
        };
        var names = new SubjectAlternativeNameBuilder();
        foreach (var domain in domains)
        {
            names.AddDnsName(domain);
        }
        request.CertificateExtensions.Add(names.Build());
        return request.CreateSigningRequest();
    }

    private async Task<T> PostAsGetAsync<T>(Uri url, JsonTypeInfo<T> type, string what, CancellationToken cancellationToken) =>
        (await PostAsGetWithRetryAfterAsync(url, type, what, cancellationToken)).Value;

    private async Task<(T Value, TimeSpan? RetryAfter)> PostAsGetWithRetryAfterAsync<T>(Uri url, JsonTypeInfo<T> type, string what, CancellationToken cancellationToken)
    {
        var (response, body) = await PostAsync(url, [], useJwk: false, what, cancellationToken);
        using (response)
        {
            return (Parse(body, type, $"the {what}"), RetryAfterOf(response));
        }
    }

    /// <summary>One signed POST (an empty payload is POST-as-GET), retried with a fresh nonce on badNonce.</summary>
    private async Task<(HttpResponseMessage Response, byte[] Body)> PostAsync(Uri url, byte[] payload, bool useJwk, string what, CancellationToken cancellationToken, string? accept = null)
    {
        if (!useJwk && AccountUrl is null)
        {
            throw new InvalidOperationException($"{what}: the account URL is not known yet (create or find the account first)");
        }
        for (var attempt = 0; ; attempt++)
        {
            var nonce = await NextNonceAsync(cancellationToken);
            var jws = Key.Sign(url.ToString(), nonce, useJwk ? null : AccountUrl!.ToString(), payload);
            var response = await SendAsync(() =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(jws) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/jose+json");
                if (accept is not null)
                {
                    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
                }
                return request;
            }, what, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            try
            {
                ThrowIfProblem(response, body, $"{what} ({url})");
                return (response, body);
            }
            catch (AcmeException ex) when (ex.Kind == AcmeErrorKind.BadNonce && attempt < _options.BadNonceRetries)
            {
                // The refusal carried a fresh nonce (section 6.5); the loop signs again with it.
                Interlocked.Increment(ref _badNonceRetries);
                response.Dispose();
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }
    }

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> build, string what, CancellationToken cancellationToken)
    {
        using var request = build();
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new AcmeException($"{what}: cannot reach the CA at {request.RequestUri}: {ex.Message}", 0, ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AcmeException($"{what}: the CA at {request.RequestUri} did not answer in time", 0, ex);
        }
        if (response.Headers.TryGetValues("Replay-Nonce", out var nonces))
        {
            lock (_nonceLock)
            {
                foreach (var nonce in nonces)
                {
                    _nonces.Push(nonce);
                }
            }
        }
        return response;
    }

    private async Task<string> NextNonceAsync(CancellationToken cancellationToken)
    {
        lock (_nonceLock)
        {
            if (_nonces.TryPop(out var nonce))
            {
                return nonce;
            }
        }
        var directory = await GetDirectoryAsync(cancellationToken);
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, directory.NewNonce), "newNonce", cancellationToken);
        lock (_nonceLock)
        {
            return _nonces.TryPop(out var nonce) ? nonce : throw new AcmeException($"newNonce: the CA answered {(int)response.StatusCode} without a Replay-Nonce", (int)response.StatusCode);
        }
    }

    private static void ThrowIfProblem(HttpResponseMessage response, byte[] body, string what)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var status = (int)response.StatusCode;
        AcmeProblem? problem = null;
        if (response.Content.Headers.ContentType?.MediaType is "application/problem+json" or "application/json")
        {
            try
            {
                problem = JsonSerializer.Deserialize(body, AcmeJsonContext.Default.AcmeProblem);
            }
            catch (JsonException)
            {
            }
        }
        throw problem is not null
            ? new AcmeException(what, problem, status, RetryAfterOf(response))
            : new AcmeException($"{what}: the CA answered {status} {response.ReasonPhrase}: {Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 200)))}", status, retryAfter: RetryAfterOf(response));
    }

    // A validation or issuance usually finishes within a second: poll at 100, 200, 400 ms ... up to
    // PollInterval, unless the CA says when (Retry-After, honoured up to MaxPollInterval).
    private TimeSpan PollDelay(TimeSpan? retryAfter, int poll) =>
        retryAfter is { } wait
            ? TimeSpan.FromTicks(Math.Clamp(wait.Ticks, 0, _options.MaxPollInterval.Ticks))
            : TimeSpan.FromTicks(Math.Min(TimeSpan.FromMilliseconds(100).Ticks << Math.Min(poll, 10), _options.PollInterval.Ticks));

    private static TimeSpan? RetryAfterOf(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow,
        _ => null,
    };

    private static IEnumerable<(string Target, string? Rel)> SplitLinks(string header)
    {
        foreach (var link in header.Split(','))
        {
            var parts = link.Split(';');
            var target = parts[0].Trim().TrimStart('<').TrimEnd('>');
            var rel = parts.Skip(1).Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("rel=", StringComparison.Ordinal))?[4..].Trim('"');
            yield return (target, rel);
        }
    }

    private static byte[] Serialize<T>(T value, JsonTypeInfo<T> type) => JsonSerializer.SerializeToUtf8Bytes(value, type);

    private static T Parse<T>(byte[] body, JsonTypeInfo<T> type, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(body, type) ?? throw new AcmeException($"{what} is empty");
        }
        catch (JsonException ex)
        {
            throw new AcmeException($"{what} is not the JSON ACME defines: {ex.Message}", inner: ex);
        }
    }
}
