using System.Reflection;
using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Hawser.Shared.Releases;

/// <summary>
/// The Ed25519 public key that signs agent releases (RFC 8032; .NET 10 has no Ed25519, BouncyCastle's verifier is used).
/// Written as the 32 raw bytes in base64, or as the PEM <c>PUBLIC KEY</c> that <c>openssl pkey -pubout</c> prints.
/// </summary>
public sealed class ReleaseKey
{
    // DER of an Ed25519 SubjectPublicKeyInfo before its 32 key bytes (RFC 8410).
    private static readonly byte[] SpkiPrefix = Convert.FromHexString("302a300506032b6570032100");
    private readonly byte[] _key;

    private ReleaseKey(byte[] key) => _key = key;

    /// <summary>The key as base64 of its 32 bytes (what build-release.sh builds in and agent.yaml pins).</summary>
    public string Base64 => Convert.ToBase64String(_key);

    /// <summary>A short name for messages: the first 16 hex digits of the key's SHA-256.</summary>
    public string Fingerprint => Convert.ToHexStringLower(SHA256.HashData(_key))[..16];

    /// <summary>Reads a key from base64 or PEM text; the error says what was wrong.</summary>
    public static ReleaseKey Parse(string text)
    {
        text = text.Trim();
        byte[] bytes;
        if (text.StartsWith("-----BEGIN PUBLIC KEY-----", StringComparison.Ordinal))
        {
            var der = PemEncoding.TryFind(text, out var fields) ? Decode(text[fields.Base64Data]) : null;
            bytes = der is { Length: 44 } && der.AsSpan(0, SpkiPrefix.Length).SequenceEqual(SpkiPrefix) ? der[SpkiPrefix.Length..]
                : throw new FormatException("the PEM public key is not an Ed25519 key (openssl genpkey -algorithm ed25519 makes one)");
        }
        else
        {
            bytes = Decode(text) ?? throw new FormatException("a release key is base64 of 32 bytes, or a PEM PUBLIC KEY");
        }
        return bytes.Length == Ed25519.PublicKeySize ? new ReleaseKey(bytes)
            : throw new FormatException($"an Ed25519 public key has {Ed25519.PublicKeySize} bytes; this one has {bytes.Length}");
    }

    /// <summary>The key built into this binary by build-release.sh --sign-key, or null for a build without one.</summary>
    public static ReleaseKey? BuiltIn { get; } = typeof(ReleaseKey).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "HawserReleaseKey" && !string.IsNullOrEmpty(a.Value)) is { } attribute ? Parse(attribute.Value!) : null;

    /// <summary>True when <paramref name="signature"/> is this key's Ed25519 signature of <paramref name="message"/>.</summary>
    public bool Verifies(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        signature.Length == Ed25519.SignatureSize && Ed25519.Verify(signature.ToArray(), 0, _key, 0, message.ToArray(), 0, message.Length);

    /// <summary>
    /// Checks a manifest's signature, then reads it; throws with the reason when the signature does not verify (nothing
    /// in the manifest is believed before that).
    /// </summary>
    public ReleaseManifest VerifyManifest(ReadOnlySpan<byte> manifest, ReadOnlySpan<byte> signature) =>
        Verifies(manifest, signature) ? ReleaseManifest.Parse(manifest)
            : throw new CryptographicException($"the release's signature does not verify with release key {Fingerprint}");

    private static byte[]? Decode(string base64)
    {
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Fingerprint;
}
