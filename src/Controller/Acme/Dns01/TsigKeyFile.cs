using System.Text.RegularExpressions;

namespace Hawser.Controller.Acme.Dns01;

/// <summary>A TSIG key (RFC 8945): its name, HMAC algorithm and secret.</summary>
/// <param name="Name">The key's name, as the DNS server knows it.</param>
/// <param name="Algorithm">BIND's algorithm name, e.g. <c>hmac-sha256</c>.</param>
/// <param name="Secret">The shared secret.</param>
public sealed record TsigKey(string Name, string Algorithm, byte[] Secret);

/// <summary>
/// Reads a TSIG key from a file in BIND's format, as <c>tsig-keygen</c> writes it
/// (<c>key "NAME" { algorithm hmac-sha256; secret "BASE64"; };</c>). The file must be a regular file
/// readable by its owner only: the key can change the zone.
/// </summary>
public static partial class TsigKeyFile
{
    /// <summary>The algorithms accepted (HMAC-MD5 is not: RFC 8945 deprecates it).</summary>
    public static readonly string[] Algorithms = ["hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"];

    [GeneratedRegex(@"key\s+""?(?<name>[A-Za-z0-9._-]+)""?\s*\{\s*algorithm\s+""?(?<algorithm>[a-z0-9-]+)""?\s*;\s*secret\s+""(?<secret>[A-Za-z0-9+/=]+)""\s*;\s*\}\s*;")]
    private static partial Regex KeyStatement();

    /// <summary>The key in <paramref name="path"/>; throws <see cref="CertificateOrderException"/> naming the file and what is wrong (never the secret).</summary>
    public static TsigKey Read(string path)
    {
        FileInfo file = new(path);
        if (!file.Exists || file.LinkTarget is not null)
        {
            throw new CertificateOrderException($"the TSIG key file {path} (acme.dns01.tsigKeyFile) does not exist on the controller or is not a regular file");
        }
        if ((file.UnixFileMode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
        {
            throw new CertificateOrderException($"the TSIG key file {path} can be read by others (mode {Convert.ToString((int)file.UnixFileMode, 8)}); make it readable by its owner only: chmod 600 {path}");
        }
        var text = file.Length <= 64 * 1024 ? File.ReadAllText(path) : "";
        var match = KeyStatement().Match(text);
        if (!match.Success)
        {
            throw new CertificateOrderException($"the TSIG key file {path} holds no key statement in BIND's format (key \"NAME\" {{ algorithm hmac-sha256; secret \"...\"; }};), as tsig-keygen writes it");
        }
        var algorithm = match.Groups["algorithm"].Value;
        if (!Algorithms.Contains(algorithm, StringComparer.Ordinal))
        {
            throw new CertificateOrderException($"the TSIG key file {path} names algorithm {algorithm}; use one of {string.Join(", ", Algorithms)}");
        }
        return new TsigKey(match.Groups["name"].Value.TrimEnd('.'), algorithm, Convert.FromBase64String(match.Groups["secret"].Value));
    }
}
