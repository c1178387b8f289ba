using System.Security.Cryptography;
using Hawser.Shared.IO;

namespace Hawser.Controller.Pki;

/// <summary>
/// Seals private keys kept in the store (the ACME account key, certificate keys) with AES-256-GCM
/// under a key file, pki/secrets.key (0600), made on first use: a copied database alone gives no key away.
/// </summary>
public sealed class SecretBox
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;

    private SecretBox(byte[] key) => _key = key;

    /// <summary>The box for <paramref name="dataDirectory"/>, creating its key file when missing.</summary>
    public static SecretBox Open(string dataDirectory)
    {
        var path = Path.Join(dataDirectory, "pki", "secrets.key");
        if (!File.Exists(path))
        {
            AtomicFile.Write(path, RandomNumberGenerator.GetBytes(32), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        var key = File.ReadAllBytes(path);
        return key.Length == 32 ? new SecretBox(key) : throw new CryptographicException($"{path} must hold 32 bytes; it holds {key.Length}");
    }

    /// <summary>nonce | tag | ciphertext.</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext)
    {
        var sealedData = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = sealedData.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plaintext, sealedData.AsSpan(NonceSize + TagSize), sealedData.AsSpan(NonceSize, TagSize));
        return sealedData;
    }

    /// <summary>The plaintext; throws when the data was altered or sealed under another key.</summary>
    public byte[] Open(ReadOnlySpan<byte> sealedData)
    {
        if (sealedData.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("sealed data is too short");
        }
        var plaintext = new byte[sealedData.Length - NonceSize - TagSize];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(sealedData[..NonceSize], sealedData[(NonceSize + TagSize)..], sealedData.Slice(NonceSize, TagSize), plaintext);
        return plaintext;
    }
}
