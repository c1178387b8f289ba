using System.Net;
using System.Security.Cryptography.X509Certificates;
using Hawser.Shared.IO;
using Hawser.Shared.Pki;

namespace Hawser.Controller.Pki;

/// <summary>
/// The controller's key material in <c>DATA/pki</c>: the CA, the serving certificate, and the first
/// admin credential for hawserctl. Keys are 0600; everything is written atomically.
/// </summary>
public sealed class ControllerPki : IDisposable
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Public = Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private ControllerPki(string directory, CertificateAuthority ca, X509Certificate2 server, TimeSpan nodeLifetime)
    {
        Directory = directory;
        Ca = ca;
        ServerCertificate = server;
        NodeCertificateLifetime = nodeLifetime;
    }

    /// <summary>DATA/pki.</summary>
    public string Directory { get; }

    /// <summary>The CA that signs everything.</summary>
    public CertificateAuthority Ca { get; }

    /// <summary>The certificate the controller serves with, carrying its key.</summary>
    public X509Certificate2 ServerCertificate { get; }

    /// <summary>How long node certificates live; agents renew at two thirds.</summary>
    public TimeSpan NodeCertificateLifetime { get; }

    /// <summary>The admin credential's certificate file.</summary>
    public string AdminCertificatePath => Path.Join(Directory, "admin.crt");

    /// <summary>The admin credential's key file.</summary>
    public string AdminKeyPath => Path.Join(Directory, "admin.key");

    /// <summary>The CA certificate file.</summary>
    public string CaPath => Path.Join(Directory, "ca.crt");

    /// <summary>True when <paramref name="dataDirectory"/> has been initialized.</summary>
    public static bool Exists(string dataDirectory) => File.Exists(Path.Join(dataDirectory, "pki", "ca.key"));

    /// <summary>Creates the CA, the serving certificate for the given names and addresses, and an admin credential.</summary>
    public static ControllerPki Create(string dataDirectory, IReadOnlyList<string> names, IReadOnlyList<IPAddress> addresses) =>
        Create(dataDirectory, names, addresses, CertificateAuthority.Create("Hawser controller CA"));

    /// <summary>
    /// As <see cref="Create(string, IReadOnlyList{string}, IReadOnlyList{IPAddress})"/> with a CA that exists already (another
    /// controller's, from the shared store): this controller's serving certificate and admin credential are its own.
    /// Takes ownership of <paramref name="ca"/>.
    /// </summary>
    public static ControllerPki Create(string dataDirectory, IReadOnlyList<string> names, IReadOnlyList<IPAddress> addresses, CertificateAuthority ca)
    {
        var directory = Path.Join(dataDirectory, "pki");
        System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var server = ca.IssueServer(names, addresses, TimeSpan.FromDays(3650));
        using var admin = ca.IssueAdmin("admin", TimeSpan.FromDays(3650));
        Write(directory, "server.crt", server.ExportCertificatePem(), Public);
        Write(directory, "server.key", server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(), Private);
        Write(directory, "admin.crt", admin.ExportCertificatePem(), Public);
        Write(directory, "admin.key", admin.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(), Private);
        Write(directory, "ca.crt", ca.CertificatePem, Public);
        // The CA key last: its presence is what marks the directory initialized.
        Write(directory, "ca.key", ca.KeyPem, Private);
        ca.Dispose();
        return Load(dataDirectory);
    }

    /// <summary>Loads the material Create wrote; node certificates get <paramref name="nodeLifetime"/> (30 days by default).</summary>
    public static ControllerPki Load(string dataDirectory, TimeSpan? nodeLifetime = null)
    {
        var directory = Path.Join(dataDirectory, "pki");
        string Read(string name) => File.ReadAllText(Path.Join(directory, name));
        var ca = CertificateAuthority.Load(Read("ca.crt"), Read("ca.key"));
        // On Linux Kestrel's SslStream uses a key loaded from PEM as it is (only Windows needs a PKCS#12 round trip).
        return new ControllerPki(directory, ca, X509Certificate2.CreateFromPem(Read("server.crt"), Read("server.key")), nodeLifetime ?? TimeSpan.FromDays(30));
    }

    /// <summary>
    /// Checks a client certificate: it must chain to this CA (and only this CA). Anonymous clients
    /// pass here; each method decides whether it needs an identity.
    /// </summary>
    public bool ValidateClient(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca.Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Ca.Dispose();
        ServerCertificate.Dispose();
    }

    private static void Write(string directory, string name, string pem, UnixFileMode mode) =>
        AtomicFile.Write(Path.Join(directory, name), System.Text.Encoding.ASCII.GetBytes(pem), mode);
}
