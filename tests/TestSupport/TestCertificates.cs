using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Hawser.TestSupport;

/// <summary>A throwaway CA and the certificates it signs, for TLS tests.</summary>
public sealed class TestCertificates : IDisposable
{
    /// <summary>Creates a CA named <paramref name="name"/>.</summary>
    public TestCertificates(string name = "Hawser Test CA")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Ca = Reload(request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1)));
    }

    /// <summary>The CA certificate, with its key.</summary>
    public X509Certificate2 Ca { get; }

    /// <summary>A server certificate for localhost and 127.0.0.1.</summary>
    public X509Certificate2 IssueServer() => Issue("CN=localhost", server: true);

    /// <summary>A client certificate with the given common name.</summary>
    public X509Certificate2 IssueClient(string commonName) => Issue($"CN={commonName}", server: false);

    /// <summary>A web server certificate for <paramref name="domains"/> (an IP address as such) as PEM: the chain (leaf, then this CA) and the PKCS#8 key.</summary>
    public (string Chain, string Key) IssuePem(params string[] domains)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={domains[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var domain in domains)
        {
            if (IPAddress.TryParse(domain, out var address))
            {
                san.AddIpAddress(address);
            }
            else
            {
                san.AddDnsName(domain);
            }
        }
        request.CertificateExtensions.Add(san.Build());
        var notAfter = new DateTimeOffset(Ca.NotAfter.ToUniversalTime()).AddMinutes(-1);
        using var leaf = request.Create(Ca, DateTimeOffset.UtcNow.AddMinutes(-5), notAfter, RandomNumberGenerator.GetBytes(12));
        return (leaf.ExportCertificatePem() + "\n" + Ca.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>True when <paramref name="certificate"/> chains to this CA.</summary>
    public bool Validates(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    /// <inheritdoc />
    public void Dispose() => Ca.Dispose();

    private X509Certificate2 Issue(string subject, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("localhost");
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(12);
        // Derived from the CA's own validity: a leaf may never outlive its issuer.
        var notAfter = new DateTimeOffset(Ca.NotAfter.ToUniversalTime()).AddMinutes(-1);
        using var signed = request.Create(Ca, DateTimeOffset.UtcNow.AddMinutes(-5), notAfter, serial);
        return Reload(signed.CopyWithPrivateKey(key));
    }

    // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
    private static X509Certificate2 Reload(X509Certificate2 certificate)
    {
        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
        }
    }
}
