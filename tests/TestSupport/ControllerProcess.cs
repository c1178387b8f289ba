using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Hawser.Shared.Transport;

namespace Hawser.TestSupport;

/// <summary>
/// A real <c>hawser-controller</c> on a free loopback port with its own data directory, initialized
/// (CA, serving certificate, admin credential) on first start, and a hawserctl config for it.
/// </summary>
public sealed class ControllerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ControllerProcess(Process process, Uri address, string dataDirectory, string caHash)
    {
        _process = process;
        Address = address;
        DataDirectory = dataDirectory;
        CaHash = caHash;
    }

    /// <summary>The controller's https URL.</summary>
    public Uri Address { get; }

    /// <summary>The data directory it uses.</summary>
    public string DataDirectory { get; }

    /// <summary>The CA's pin, for agents' --ca-hash.</summary>
    public string CaHash { get; }

    /// <summary>A hawserctl config naming this controller and the admin credential.</summary>
    public string CtlConfig => Path.Combine(DataDirectory, "hawserctl.yaml");

    /// <summary>The size of the SQLite store on disk: the database and its write-ahead log.</summary>
    public long StoreBytes => new[] { "controller.db", "controller.db-wal" }
        .Select(f => new FileInfo(Path.Join(DataDirectory, f))).Where(f => f.Exists).Sum(f => f.Length);

    /// <summary>The process id.</summary>
    public int Pid => _process.Id;

    /// <summary>Lines the controller printed (stdout), for log assertions.</summary>
    public IReadOnlyList<string> Log => _output?.Lines ?? [];

    private ProcessOutput? _output;

    /// <summary>Initializes <paramref name="dataDirectory"/> when needed, starts the controller, and waits until it listens.</summary>
    public static Task<ControllerProcess> StartAsync(string dataDirectory, string listen = "127.0.0.1:0", NetworkNamespace? ns = null, params string[] extra) =>
        StartCoreAsync(dataDirectory, listen, ns, null, extra, []);

    /// <summary>
    /// A controller on the shared <paramref name="store"/>; <paramref name="secretsKey"/> (another controller's pki/secrets.key)
    /// joins it to the controllers already there, so it signs with their CA.
    /// </summary>
    public static Task<ControllerProcess> StartSharedAsync(string dataDirectory, string listen, string store, string? secretsKey, params string[] extra) =>
        StartCoreAsync(dataDirectory, listen, null, null, ["--store", store, .. extra], secretsKey is null ? [] : ["--secrets-key", secretsKey]);

    /// <summary>As <see cref="StartAsync"/> on a loopback port, with <paramref name="environment"/> added to the controller's.</summary>
    public static Task<ControllerProcess> StartWithAsync(IDictionary<string, string> environment, string dataDirectory, params string[] extra) =>
        StartCoreAsync(dataDirectory, "127.0.0.1:0", null, environment, extra, []);

    private static async Task<ControllerProcess> StartCoreAsync(string dataDirectory, string listen, NetworkNamespace? ns, IDictionary<string, string>? environment, string[] extra,
        string[] initExtra)
    {
        if (!File.Exists(Path.Combine(dataDirectory, "pki", "ca.key")))
        {
            // A controller on a shared store is initialized with it, so the store is not empty when it runs.
            string[] store = Array.IndexOf(extra, "--store") is var at and >= 0 ? ["--store", extra[at + 1]] : [];
            var init = await HawserProcesses.RunAsync("hawser-controller", ["init", "--data", dataDirectory, "--address", listen.Split(':')[0], .. store, .. initExtra]);
            if (init.ExitCode != 0)
            {
                throw new AssertFailedException($"hawser-controller init failed: {init.Output}");
            }
        }
        var process = HawserProcesses.Start("hawser-controller", ["run", "--listen", listen, "--data", dataDirectory, .. extra], ns, environment);
        var caHash = await ExternalProcess.WaitForLineAsync(process, "ca-hash ", TimeSpan.FromSeconds(30));
        var listening = await ExternalProcess.WaitForLineAsync(process, "listening ", TimeSpan.FromSeconds(30));
        var controller = new ControllerProcess(process, new Uri(listening.Split(' ')[0]), dataDirectory, caHash);
        var pki = Path.Combine(dataDirectory, "pki");
        File.WriteAllText(controller.CtlConfig, $"controller: {controller.Address}\nca: {pki}/ca.crt\ncertificate: {pki}/admin.crt\nkey: {pki}/admin.key\n");
        controller.CollectOutput();
        return controller;
    }

    /// <summary>A channel that trusts this controller's CA and presents the admin credential (or none).</summary>
    public GrpcChannel Channel(bool admin = true, X509Certificate2? clientCertificate = null)
    {
        var pki = Path.Combine(DataDirectory, "pki");
        X509Certificate2? certificate = clientCertificate;
        if (admin && certificate is null)
        {
            using var pem = X509Certificate2.CreateFromPemFile(Path.Combine(pki, "admin.crt"), Path.Combine(pki, "admin.key"));
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        return ControllerChannel.Create(Address, new ControllerChannelOptions
        {
            TrustedCa = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(pki, "ca.crt")),
            ClientCertificate = certificate,
        });
    }

    /// <summary>An HTTP client of the web UI that trusts this controller's CA, follows no redirect and keeps no cookies (the caller sends them).</summary>
    public HttpClient WebClient() => new(new SocketsHttpHandler
    {
        SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => IsServedBy(certificate) },
        AllowAutoRedirect = false,
        UseCookies = false,
    })
    { BaseAddress = Address };

    /// <summary>True when <paramref name="certificate"/> chains to this controller's CA (its serving certificate).</summary>
    public bool IsServedBy(X509Certificate? certificate)
    {
        using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(DataDirectory, "pki", "ca.crt"));
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return certificate is X509Certificate2 server && chain.Build(server);
    }

    /// <summary>A new join token for <paramref name="uses"/> agents, made with the admin's hawserctl.</summary>
    public async Task<string> TokenAsync(int uses)
    {
        var token = await HawserProcesses.RunAsync("hawserctl", ["--config", CtlConfig, "token", "create", "--uses", uses.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "json"]);
        Assert.AreEqual(0, token.ExitCode, token.Output);
        return System.Text.Json.JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>The web UI's login token.</summary>
    public string WebToken => File.ReadAllText(Path.Combine(DataDirectory, "ui-token")).Trim();

    private void CollectOutput() => _output = new ProcessOutput(_process);

    /// <summary>Stops it with SIGTERM, as systemd would, and waits for a clean exit.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            Signals.Terminate(_process.Id);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(cts.Token);
        }
        if (_output is not null)
        {
            await _output.DrainAsync();
        }
        return _process.ExitCode;
    }

    /// <summary>
    /// Waits until every node that has reported reports <paramref name="rounds"/> more times (its lastSeen moves on each
    /// time): the event to wait for before checking that something did not happen, instead of a fixed sleep.
    /// </summary>
    public async Task WaitForReportsAsync(int rounds = 2, int seconds = 60)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        for (var round = 0; round < rounds; round++)
        {
            var seen = await LastSeenAsync();
            if (!await Poll.UntilAsync(async () => (await LastSeenAsync()).All(n => !seen.TryGetValue(n.Key, out var before) || n.Value > before), deadline - DateTime.UtcNow))
            {
                throw new AssertFailedException($"not every node reported {rounds} more time(s) within {seconds} s");
            }
        }
    }

    private async Task<Dictionary<string, DateTimeOffset>> LastSeenAsync()
    {
        var status = await HawserProcesses.RunAsync("hawserctl", ["--config", CtlConfig, "status", "-o", "json"]);
        return System.Text.Json.JsonDocument.Parse(status.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray()
            .Where(n => n.GetProperty("lastSeen").ValueKind == System.Text.Json.JsonValueKind.String)
            .ToDictionary(n => n.GetProperty("name").GetString()!, n => n.GetProperty("lastSeen").GetDateTimeOffset());
    }

    private bool _disposed;

    /// <inheritdoc />
    /// <remarks>Once only: a test's finally that disposes a controller it already disposed (a restart that failed) must not
    /// hide the failure behind "no process is associated".</remarks>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        try
        {
            await StopAsync();
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}
