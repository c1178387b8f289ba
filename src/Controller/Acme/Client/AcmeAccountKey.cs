using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Hawser.Controller.Acme.Client;

/// <summary>
/// An ACME account key: ES256 (ECDSA P-256, the default) or RS256 (an existing RSA account key).
/// Signs JWS (RFC 7515 as RFC 8555 section 6.2 profiles it) and gives its JWK and thumbprint (RFC 7638).
/// </summary>
public sealed class AcmeAccountKey : IDisposable
{
    private readonly ECDsa? _ec;
    private readonly RSA? _rsa;

    private AcmeAccountKey(ECDsa? ec, RSA? rsa)
    {
        _ec = ec;
        _rsa = rsa;
        Jwk = BuildJwk();
        Thumbprint = Base64Url.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(Jwk)));
    }

    /// <summary>A new ES256 key.</summary>
    public static AcmeAccountKey CreateEs256() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256), null);

    /// <summary>A key from PEM (EC P-256 or RSA of at least 2048 bits).</summary>
    public static AcmeAccountKey FromPem(string pem)
    {
        var ec = ECDsa.Create();
        bool isEc;
        try
        {
            ec.ImportFromPem(pem);
            isEc = true;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            isEc = false;
        }
        if (isEc && ec.KeySize == 256)
        {
            return new AcmeAccountKey(ec, null);
        }
        ec.Dispose();
        if (isEc)
        {
            throw new CryptographicException("an EC account key must be P-256 (ES256)");
        }
        var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        if (rsa.KeySize < 2048)
        {
            rsa.Dispose();
            throw new CryptographicException("an RSA account key needs at least 2048 bits");
        }
        return new AcmeAccountKey(null, rsa);
    }

    /// <summary>The JWS algorithm: ES256 or RS256.</summary>
    public string Algorithm => _ec is not null ? "ES256" : "RS256";

    /// <summary>The public JWK with its required members in lexicographic order, as the thumbprint hashes it.</summary>
    public string Jwk { get; }

    /// <summary>base64url(SHA-256(JWK)): the second half of every key authorization.</summary>
    public string Thumbprint { get; }

    /// <summary>The key as PKCS#8 PEM, for the store.</summary>
    public string ExportPem() => _ec is not null ? _ec.ExportPkcs8PrivateKeyPem() : _rsa!.ExportPkcs8PrivateKeyPem();

    /// <summary>The HTTP-01 key authorization for <paramref name="token"/> (RFC 8555 section 8.1).</summary>
    public string KeyAuthorization(string token) => $"{token}.{Thumbprint}";

    /// <summary>
    /// A flattened JWS: the protected header names this key by <paramref name="kid"/> (the account URL) or,
    /// when null, by its JWK (newAccount, revocation by certificate key, key change's inner JWS).
    /// </summary>
    public byte[] Sign(string url, string? nonce, string? kid, ReadOnlySpan<byte> payload)
    {
        using var buffer = new MemoryStream();
        using (var header = new Utf8JsonWriter(buffer))
        {
            header.WriteStartObject();
            header.WriteString("alg", Algorithm);
            if (kid is null)
            {
                header.WritePropertyName("jwk");
                header.WriteRawValue(Jwk);
            }
            else
            {
                header.WriteString("kid", kid);
            }
            if (nonce is not null)
            {
                header.WriteString("nonce", nonce);
            }
            header.WriteString("url", url);
            header.WriteEndObject();
        }
        var protectedPart = Base64Url.Encode(buffer.ToArray());
        // POST-as-GET signs an empty payload, which is "" and not base64url("").
        var payloadPart = Base64Url.Encode(payload);
        var signingInput = Encoding.ASCII.GetBytes($"{protectedPart}.{payloadPart}");
        var signature = _ec is not null
            ? _ec.SignData(signingInput, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            : _rsa!.SignData(signingInput, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return Flattened(protectedPart, payloadPart, Base64Url.Encode(signature));
    }

    /// <summary>A flattened JWS signed with HMAC-SHA256 (External Account Binding, RFC 8555 section 7.3.4).</summary>
    public static byte[] SignHs256(string url, string kid, ReadOnlySpan<byte> hmacKey, string payloadJson)
    {
        var protectedPart = Base64Url.Encode(Encoding.UTF8.GetBytes(
            $"{{\"alg\":\"HS256\",\"kid\":{JsonSerializer.Serialize(kid, AcmeJsonContext.Default.String)},\"url\":{JsonSerializer.Serialize(url, AcmeJsonContext.Default.String)}}}"));
        var payloadPart = Base64Url.Encode(Encoding.UTF8.GetBytes(payloadJson));
        var signature = HMACSHA256.HashData(hmacKey, Encoding.ASCII.GetBytes($"{protectedPart}.{payloadPart}"));
        return Flattened(protectedPart, payloadPart, Base64Url.Encode(signature));
    }

    private static byte[] Flattened(string protectedPart, string payloadPart, string signature) =>
        Encoding.ASCII.GetBytes($"{{\"protected\":\"{protectedPart}\",\"payload\":\"{payloadPart}\",\"signature\":\"{signature}\"}}");

    private string BuildJwk()
    {
        if (_ec is not null)
        {
            var p = _ec.ExportParameters(false);
            return $"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{Base64Url.Encode(p.Q.X!)}\",\"y\":\"{Base64Url.Encode(p.Q.Y!)}\"}}";
        }
        var r = _rsa!.ExportParameters(false);
        return $"{{\"e\":\"{Base64Url.Encode(r.Exponent!)}\",\"kty\":\"RSA\",\"n\":\"{Base64Url.Encode(r.Modulus!)}\"}}";
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _ec?.Dispose();
        _rsa?.Dispose();
    }
}

/// <summary>base64url without padding (RFC 4648 section 5), as JOSE uses it.</summary>
public static class Base64Url
{
    /// <summary>Encodes <paramref name="data"/>.</summary>
    public static string Encode(ReadOnlySpan<byte> data) => System.Buffers.Text.Base64Url.EncodeToString(data);

    /// <summary>Decodes <paramref name="text"/>; throws <see cref="FormatException"/> when it is not base64url.</summary>
    public static byte[] Decode(string text) => System.Buffers.Text.Base64Url.DecodeFromChars(text);
}
