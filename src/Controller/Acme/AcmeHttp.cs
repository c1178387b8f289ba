using System.Security.Cryptography.X509Certificates;

namespace Hawser.Controller.Acme;

/// <summary>The HttpClient the controller reaches its ACME CA with.</summary>
public static class AcmeHttp
{
    /// <summary>Why <paramref name="path"/> holds no PEM certificate to trust (null when it holds at least one).</summary>
    public static string? ReadRoots(string path)
    {
        try
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(path);
            return roots.Count == 0 ? "holds no PEM certificate (-----BEGIN CERTIFICATE-----)" : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            return ex.Message;
        }
    }

    /// <summary>Trusts the system's roots, plus those in <paramref name="extraRootsPem"/> when given (a private CA's TLS).</summary>
    public static HttpClient Create(string? extraRootsPem)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (extraRootsPem is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(extraRootsPem);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                if (errors == System.Net.Security.SslPolicyErrors.None)
                {
                    return true;
                }
                if (certificate is not X509Certificate2 presented || errors != System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors)
                {
                    return false;
                }
                using var custom = new X509Chain();
                custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                custom.ChainPolicy.CustomTrustStore.AddRange(roots);
                custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                if (chain is not null)
                {
                    custom.ChainPolicy.ExtraStore.AddRange(chain.ChainElements.Select(e => e.Certificate).ToArray());
                }
                return custom.Build(presented);
            };
        }
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
    }
}
