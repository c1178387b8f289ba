using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Hawser.Shared.Pki;

/// <summary>
/// The pin an agent is given to trust a controller it has never talked to, as kubeadm does:
/// <c>sha256:</c> and the hex SHA-256 of the CA's SubjectPublicKeyInfo.
/// </summary>
public static class CaHash
{
    /// <summary>The pin of <paramref name="ca"/>.</summary>
    public static string Of(X509Certificate2 ca) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(ca.PublicKey.ExportSubjectPublicKeyInfo()));

    /// <summary>True when <paramref name="ca"/> has pin <paramref name="expected"/> (case-insensitive hex, constant time).</summary>
    public static bool Matches(X509Certificate2 ca, string expected) =>
        CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(Of(ca)), System.Text.Encoding.ASCII.GetBytes(expected.Trim().ToLowerInvariant()));
}
