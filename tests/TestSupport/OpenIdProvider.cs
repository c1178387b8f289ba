using System.Diagnostics;

namespace Hawser.TestSupport;

/// <summary>
/// A real OpenID Connect provider (npm's oidc-provider, tests/interop/oidc-provider.mjs) over HTTPS on 127.0.0.1, with a
/// client <c>hawser</c> that may return to one redirect URI. Its login form takes any password; the people and their
/// groups: vera (hawser-viewers, staff), ada (hawser-admins), nobody (staff).
/// </summary>
public sealed class OpenIdProvider : IDisposable
{
    private readonly Process _process;
    private readonly TempDirectory _files;

    private OpenIdProvider(Process process, TempDirectory files, int port)
    {
        _process = process;
        _files = files;
        Authority = new Uri($"https://127.0.0.1:{port}");
    }

    /// <summary>The provider's issuer URL.</summary>
    public Uri Authority { get; }

    /// <summary>The client secret's file (0600).</summary>
    public string SecretFile => Path.Combine(_files.Path, "client-secret");

    /// <summary>The CA that signed the provider's TLS certificate (PEM).</summary>
    public string CaFile => Path.Combine(_files.Path, "ca.pem");

    /// <summary>Starts the provider; the controller will send browsers back to <paramref name="redirectUri"/>.</summary>
    public static async Task<OpenIdProvider> StartAsync(Uri redirectUri)
    {
        var files = new TempDirectory();
        using var certificates = new TestCertificates("Test OpenID provider CA");
        var (chain, key) = certificates.IssuePem("localhost", "127.0.0.1");
        File.WriteAllText(Path.Combine(files.Path, "cert.pem"), chain);
        File.WriteAllText(Path.Combine(files.Path, "key.pem"), key);
        File.WriteAllText(Path.Combine(files.Path, "ca.pem"), certificates.Ca.ExportCertificatePem());
        var secret = Path.Combine(files.Path, "client-secret");
        File.WriteAllText(secret, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)) + "\n");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var port = AgentFleet.FreePort();
        var process = ExternalProcess.Start("node", ["oidc-provider.mjs", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Path.Combine(files.Path, "cert.pem"), Path.Combine(files.Path, "key.pem"), redirectUri.ToString(), secret], RepoPaths.Interop);
        await ExternalProcess.WaitForLineAsync(process, "LISTENING ", TimeSpan.FromSeconds(30));
        return new OpenIdProvider(process, files, port);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
        _files.Dispose();
    }
}
