using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Hawser.Shared.Pki;

/// <summary>
/// The controller's CA (ECDSA P-256): it signs the controller's serving certificate, admin
/// credentials, and each node's certificate from the node's own CSR, so node keys never travel.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private CertificateAuthority(X509Certificate2 certificate) => Certificate = certificate;

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The CA's pin for agents' --ca-hash.</summary>
    public string Hash => CaHash.Of(Certificate);

    /// <summary>A new CA, valid for ten years.</summary>
    public static CertificateAuthority Create(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}, O=hawser"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var self = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(10));
        return new CertificateAuthority(X509CertificateLoader.LoadPkcs12(self.Export(X509ContentType.Pkcs12), null));
    }

    /// <summary>Loads a CA from PEM files.</summary>
    public static CertificateAuthority Load(string certificatePem, string keyPem) =>
        new(X509Certificate2.CreateFromPem(certificatePem, keyPem));

    /// <summary>The serving certificate for <paramref name="names"/> and <paramref name="addresses"/>, with a new key.</summary>
    public X509Certificate2 IssueServer(IEnumerable<string> names, IEnumerable<IPAddress> addresses, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=hawser-controller, O=hawser"), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            san.AddDnsName(name);
        }
        foreach (var address in addresses)
        {
            san.AddIpAddress(address);
        }
        request.CertificateExtensions.Add(san.Build());
        AddLeafExtensions(request, ServerAuth);
        using var signed = Sign(request, lifetime);
        return WithKey(signed, key);
    }

    /// <summary>An admin credential (certificate and new key) for <paramref name="user"/>.</summary>
    public X509Certificate2 IssueAdmin(string user, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(Subject(user, Identity.OperatorOrganization), key, HashAlgorithmName.SHA256);
        AddLeafExtensions(request, ClientAuth);
        using var signed = Sign(request, lifetime);
        return WithKey(signed, key);
    }

    /// <summary>An operator certificate for <paramref name="name"/> from the operator's CSR: only its key is used, as for a node.</summary>
    public X509Certificate2 IssueOperator(CertificateRequest csr, string name, TimeSpan lifetime)
    {
        var request = new CertificateRequest(Subject(name, Identity.OperatorOrganization), csr.PublicKey, HashAlgorithmName.SHA256);
        AddLeafExtensions(request, ClientAuth);
        return Sign(request, lifetime);
    }

    /// <summary>
    /// A node certificate for <paramref name="nodeName"/> from the node's CSR (<see cref="LoadSigningRequest"/>).
    /// Only the CSR's key is used: subject and extensions are the CA's choice, so a CSR cannot ask for more.
    /// </summary>
    public X509Certificate2 IssueNode(CertificateRequest csr, string nodeName, TimeSpan lifetime)
    {
        var request = new CertificateRequest(Subject(nodeName, Identity.NodeOrganization), csr.PublicKey, HashAlgorithmName.SHA256);
        AddLeafExtensions(request, ClientAuth);
        return Sign(request, lifetime);
    }

    /// <summary>The request in <paramref name="csrDer"/>; throws <see cref="ArgumentException"/> unless it is a valid, self-signed PKCS#10 request.</summary>
    public static CertificateRequest LoadSigningRequest(byte[] csrDer)
    {
        try
        {
            return CertificateRequest.LoadSigningRequest(csrDer, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        }
        catch (CryptographicException ex)
        {
            throw new ArgumentException($"the CSR is not a valid, self-signed PKCS#10 request: {ex.Message}", nameof(csrDer), ex);
        }
    }

    /// <summary>A CSR for a new ECDSA P-256 key, which the caller keeps.</summary>
    public static byte[] CreateSigningRequest(ECDsa key, string nodeName) =>
        new CertificateRequest(Subject(nodeName, Identity.NodeOrganization), key, HashAlgorithmName.SHA256).CreateSigningRequest();

    /// <summary>The CA certificate as PEM.</summary>
    public string CertificatePem => Certificate.ExportCertificatePem();

    /// <summary>The CA key as PKCS#8 PEM.</summary>
    public string KeyPem => Certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem();

    /// <inheritdoc/>
    public void Dispose() => Certificate.Dispose();

    private static X500DistinguishedName Subject(string commonName, string organization)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName(organization);
        builder.AddCommonName(commonName);
        return builder.Build();
    }

    private static void AddLeafExtensions(CertificateRequest request, Oid usage)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
    }

    private X509Certificate2 Sign(CertificateRequest request, TimeSpan lifetime)
    {
        var notAfter = DateTimeOffset.UtcNow + lifetime;
        var caNotAfter = new DateTimeOffset(Certificate.NotAfter.ToUniversalTime());
        // Backdated for clock skew, but never by a large part of a short lifetime.
        var skew = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(5).Ticks, lifetime.Ticks / 10));
        return request.Create(Certificate, DateTimeOffset.UtcNow - skew, notAfter < caNotAfter ? notAfter : caNotAfter, RandomNumberGenerator.GetBytes(16));
    }

    // A key made here and a certificate signed here are joined, then round-tripped through PKCS#12
    // so the key is usable by SslStream.
    private static X509Certificate2 WithKey(X509Certificate2 certificate, ECDsa key)
    {
        using var joined = certificate.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(joined.Export(X509ContentType.Pkcs12), null);
    }
}
