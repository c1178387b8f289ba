using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Hawser.Shared.HostAccess;
using Hawser.Agent.State;

namespace Hawser.Agent.Fleet;

/// <summary>
/// The agent's key, its node certificate and the controller's CA, kept 0600 in its state directory
/// (<c>/var/lib/hawser</c> under --root). The key is made here and never leaves the host.
/// </summary>
public sealed class AgentIdentity(HostPaths paths)
{
    private const string Key = AgentDirectory.HostPath + "/node.key", Certificate = AgentDirectory.HostPath + "/node.crt",
        Ca = AgentDirectory.HostPath + "/ca.crt", New = ".new";

    private string KeyPath => paths.Map(Key);

    private string CertificatePath => paths.Map(Certificate);

    private string CaPath => paths.Map(Ca);

    /// <summary>True once the agent has enrolled.</summary>
    public bool Exists => File.Exists(KeyPath) && File.Exists(CertificatePath) && File.Exists(CaPath);

    /// <summary>The node certificate with its key, usable for TLS.</summary>
    /// <remarks>On Linux SslStream uses a key loaded from PEM as it is (only Windows needs a PKCS#12 round trip).</remarks>
    public X509Certificate2 LoadCertificate() => X509Certificate2.CreateFromPemFile(CertificatePath, KeyPath);

    /// <summary>The controller's CA.</summary>
    public X509Certificate2 LoadCa() => X509CertificateLoader.LoadCertificateFromFile(CaPath);

    /// <summary>A new key (saved now, so a crash after the controller signs does not lose it) and its CSR.</summary>
    public byte[] NewSigningRequest(string nodeName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AgentDirectory.Write(paths, Key + New, System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()));
        return Shared.Pki.CertificateAuthority.CreateSigningRequest(key, nodeName);
    }

    /// <summary>Stores the certificate for the key from <see cref="NewSigningRequest"/>, then makes that key current.</summary>
    public void Save(string certificatePem, string caPem)
    {
        AgentDirectory.Write(paths, Ca, System.Text.Encoding.ASCII.GetBytes(caPem));
        AgentDirectory.Write(paths, Certificate + New, System.Text.Encoding.ASCII.GetBytes(certificatePem));
        // Key then certificate: the pair on disk always matches once both renames are done, and a
        // crash in between leaves a .new certificate that the next start completes.
        AgentDirectory.Rename(paths, Key + New, Key);
        AgentDirectory.Rename(paths, Certificate + New, Certificate);
    }

    /// <summary>Finishes a renewal a crash interrupted between the two renames.</summary>
    public void Recover()
    {
        if (File.Exists(CertificatePath + New) && !File.Exists(KeyPath + New))
        {
            AgentDirectory.Rename(paths, Certificate + New, Certificate);
        }
    }

    /// <summary>True past two thirds of the certificate's life.</summary>
    public static bool NeedsRenewal(X509Certificate2 certificate, DateTime now)
    {
        var life = certificate.NotAfter - certificate.NotBefore;
        return now >= certificate.NotBefore + life * 2 / 3;
    }
}
