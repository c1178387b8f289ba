using System.Globalization;
using Hawser.Shared.IO;

namespace Hawser.Ctl.Configuration;

/// <summary>
/// Writes an operator's credential beside its hawserctl config: the key (0600, made on this machine), the certificate and
/// the controller's CA, each under a new name, then the config that names them, atomically and last, so a crash leaves
/// either the old credential in use or the new one, never half of each.
/// </summary>
internal static class OperatorCredentialFiles
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Public = Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>Writes the files and the config at <paramref name="configPath"/>; returns the certificate's and the key's paths.</summary>
    public static (string Certificate, string Key) Write(string configPath, Uri controller, string name, string caPem, string certificatePem, string keyPem)
    {
        var config = Path.GetFullPath(configPath);
        var directory = Path.GetDirectoryName(config)!;
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // A new name each time (a rotation within the same second included), so the files being replaced are never overwritten.
        var stem = Path.Join(directory, $"{name}-{DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}");
        var (certificate, key, ca) = ($"{stem}.crt", $"{stem}.key", $"{stem}-ca.crt");
        AtomicFile.Write(key, System.Text.Encoding.ASCII.GetBytes(keyPem), Private);
        AtomicFile.Write(certificate, System.Text.Encoding.ASCII.GetBytes(certificatePem), Public);
        AtomicFile.Write(ca, System.Text.Encoding.ASCII.GetBytes(caPem), Public);
        var text = $"""
            # hawserctl: which controller, and operator {name}'s credential (its key was made on this machine).
            controller: {controller.GetLeftPart(UriPartial.Authority)}
            ca: {ca}
            certificate: {certificate}
            key: {key}

            """;
        AtomicFile.Write(config, System.Text.Encoding.UTF8.GetBytes(text), Private);
        return (certificate, key);
    }

    /// <summary>
    /// Deletes a replaced credential's key and certificate when this class wrote them (beside <paramref name="configPath"/>,
    /// named for the operator); a credential kept elsewhere, such as the controller's own pki/admin.key, is left alone.
    /// Best effort: the certificate is revoked already.
    /// </summary>
    public static void Remove(string configPath, string name, CtlConfig replaced)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(configPath))!;
        foreach (var path in new[] { replaced.Key, replaced.Certificate })
        {
            if (path is null || Path.GetDirectoryName(path) != directory || !Path.GetFileName(path).StartsWith($"{name}-", StringComparison.Ordinal))
            {
                continue;
            }
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
    }
}
