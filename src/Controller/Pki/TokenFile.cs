using System.Security.Cryptography;
using System.Text;
using Hawser.Controller.Acme.Client;
using Hawser.Shared.Acme;
using Hawser.Shared.IO;

namespace Hawser.Controller.Pki;

/// <summary>
/// A bearer token in a 0600 file of the data directory (the web UI's admin token, the metrics scrape token):
/// made at random when missing, compared in constant time, read anew on each check so an operator can rotate it.
/// </summary>
public sealed class TokenFile(string path)
{
    /// <summary>The file.</summary>
    public string Path => path;

    /// <summary>Creates the file unless it exists.</summary>
    public void Ensure()
    {
        if (!File.Exists(path))
        {
            AtomicFile.Write(path, Encoding.ASCII.GetBytes(Base64Url.Encode(RandomNumberGenerator.GetBytes(32)) + "\n"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    /// <summary>The first 8 hex digits of the SHA-256 of the file's token (names it without giving it away), or null when there is none.</summary>
    public string? Fingerprint()
    {
        try
        {
            var token = File.ReadAllText(path).Trim();
            return token.Length == 0 ? null : Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(token)))[..8];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether <paramref name="token"/> is the file's token. A file removed while the controller runs matches
    /// nothing; a new one is written for the operator to read.
    /// </summary>
    public TokenCheck Check(string token)
    {
        byte[] expected;
        try
        {
            expected = Encoding.ASCII.GetBytes(File.ReadAllText(path).Trim());
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            Ensure();
            return TokenCheck.FileWasMissing;
        }
        return expected.Length > 0 && CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(token.Trim()))
            ? TokenCheck.Matches : TokenCheck.DoesNotMatch;
    }
}

/// <summary>What a presented token is.</summary>
public enum TokenCheck
{
    /// <summary>The file's token.</summary>
    Matches,

    /// <summary>Not the token.</summary>
    DoesNotMatch,

    /// <summary>The token file was gone; a new one was written, and nothing matched.</summary>
    FileWasMissing,
}
