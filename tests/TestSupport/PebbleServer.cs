using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;

namespace Hawser.TestSupport;

/// <summary>
/// Debian's Pebble (a real ACME CA for tests) with pebble-challtestsrv as its DNS server, on free
/// loopback ports, with a TLS certificate from a throwaway CA. Pebble validates HTTP-01 on port 5002
/// of the first address the name resolves to; <see cref="SetAddressesAsync"/> sets those records.
/// </summary>
public sealed class PebbleServer : IAsyncDisposable
{
    /// <summary>The port Pebble's HTTP-01 validation connects to.</summary>
    public const int HttpChallengePort = 5002;

    private readonly TempDirectory _directory;
    private readonly TestCertificates _tls;
    private readonly Func<Process> _startPebble;
    private readonly Process _dns;
    private readonly int _acmePort;
    private readonly int _dnsManagementPort;
    private readonly HttpClient _management;
    private Process? _pebble;

    private PebbleServer(TempDirectory directory, TestCertificates tls, Func<Process> startPebble, Process dns, int acmePort, int managementPort, int dnsPort, int dnsManagementPort)
    {
        _directory = directory;
        _tls = tls;
        _startPebble = startPebble;
        _dns = Drained(dns);
        _acmePort = acmePort;
        _dnsManagementPort = dnsManagementPort;
        DnsServer = $"127.0.0.1:{dnsPort}";
        Directory = new Uri($"https://127.0.0.1:{acmePort}/dir");
        ManagementUrl = new Uri($"https://127.0.0.1:{managementPort}/");
        _management = CreateClient();
    }

    /// <summary>The ACME directory URL.</summary>
    public Uri Directory { get; }

    /// <summary>challtestsrv's DNS server (ADDRESS:PORT), which Pebble resolves names with.</summary>
    public string DnsServer { get; }

    /// <summary>The PEM file of the CA that signed Pebble's TLS certificate (for a client's extra trust, e.g. --acme-ca-file).</summary>
    public string TlsCaFile => Path.Combine(_directory.Path, "tls-ca.pem");

    /// <summary>Pebble's TLS server certificate (PEM), issued by <see cref="TlsCaFile"/>.</summary>
    public string CertificateFile => Path.Combine(_directory.Path, "cert.pem");

    /// <summary>The key of <see cref="CertificateFile"/> (PEM).</summary>
    public string KeyFile => Path.Combine(_directory.Path, "key.pem");

    /// <summary>Pebble's management interface (roots, certificate status).</summary>
    public Uri ManagementUrl { get; }

    /// <summary>The External Account Binding keys Pebble was started with (key id to base64url HMAC key), if any.</summary>
    public IReadOnlyDictionary<string, string> AccountBindingKeys { get; private init; } = new Dictionary<string, string>();

    /// <summary>
    /// Starts both; <paramref name="nonceRejectPercent"/> is PEBBLE_WFE_NONCEREJECT (Pebble's default is 5);
    /// <paramref name="dnsServer"/> (ADDRESS:PORT) is where Pebble resolves names instead of challtestsrv;
    /// <paramref name="alwaysValid"/> makes Pebble pass every challenge without connecting (PEBBLE_VA_ALWAYS_VALID),
    /// for tests about something other than validation whose nodes serve nothing; <paramref name="validitySeconds"/> is how
    /// long the certificates it issues are valid (its certificateValidityPeriod; 0 for Pebble's default of five years).
    /// </summary>
    public static async Task<PebbleServer> StartAsync(int nonceRejectPercent = 0, bool requireAccountBinding = false, int alternateRoots = 0, string? dnsServer = null,
        bool alwaysValid = false, int validitySeconds = 0)
    {
        var directory = new TempDirectory("hawser-pebble-");
        // A name of its own: a client trusting two Pebbles tells their roots apart by name.
        var tls = new TestCertificates($"Pebble test TLS CA {Guid.NewGuid():N}");
        using var server = tls.IssueServer();
        var certificate = Path.Combine(directory.Path, "cert.pem");
        var key = Path.Combine(directory.Path, "key.pem");
        File.WriteAllText(certificate, server.ExportCertificatePem());
        File.WriteAllText(key, server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(directory.Path, "tls-ca.pem"), tls.Ca.ExportCertificatePem());
        int acme = FreePorts.Tcp(), management = FreePorts.Tcp(), dns = FreePorts.Udp(), dnsManagement = FreePorts.Tcp();
        var bindings = new Dictionary<string, string> { ["kid-1"] = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W" };
        var config = new JsonObject
        {
            ["pebble"] = new JsonObject
            {
                ["listenAddress"] = $"127.0.0.1:{acme}",
                ["managementListenAddress"] = $"127.0.0.1:{management}",
                ["certificate"] = certificate,
                ["privateKey"] = key,
                ["httpPort"] = HttpChallengePort,
                ["tlsPort"] = 5001,
                ["ocspResponderURL"] = "",
                ["externalAccountBindingRequired"] = requireAccountBinding,
                ["externalAccountMACKeys"] = requireAccountBinding ? new JsonObject { ["kid-1"] = bindings["kid-1"] } : new JsonObject(),
            },
        };
        if (validitySeconds > 0)
        {
            config["pebble"]!["certificateValidityPeriod"] = validitySeconds;
        }
        var configPath = Path.Combine(directory.Path, "pebble-config.json");
        File.WriteAllText(configPath, config.ToJsonString());
        var dnsProcess = ExternalProcess.Start("pebble-challtestsrv",
            ["-dns01", $"127.0.0.1:{dns}", "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", $"127.0.0.1:{dnsManagement}", "-defaultIPv4", "", "-defaultIPv6", ""]);
        var environment = new Dictionary<string, string>
        {
            ["PEBBLE_VA_NOSLEEP"] = "1",
            ["PEBBLE_WFE_NONCEREJECT"] = nonceRejectPercent.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Every order validates for real: no authorization reused from an earlier order.
            ["PEBBLE_AUTHZREUSE"] = "0",
            ["PEBBLE_ALTERNATE_ROOTS"] = alternateRoots.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (alwaysValid)
        {
            environment["PEBBLE_VA_ALWAYS_VALID"] = "1";
        }
        Process StartPebble() => ExternalProcess.Start("pebble", ["-config", configPath, "-dnsserver", dnsServer ?? $"127.0.0.1:{dns}"], environment: environment);
        var pebble = new PebbleServer(directory, tls, StartPebble, dnsProcess, acme, management, dns, dnsManagement) { AccountBindingKeys = requireAccountBinding ? bindings : new Dictionary<string, string>() };
        await pebble.WaitForPortAsync(dnsManagement, dnsProcess, "pebble-challtestsrv");
        await pebble.StartCaAsync();
        return pebble;
    }

    /// <summary>Starts Pebble (again, with its state new) on the same port and waits until it listens.</summary>
    public async Task StartCaAsync()
    {
        _pebble = Drained(_startPebble());
        await WaitForPortAsync(_acmePort, _pebble, "pebble");
    }

    /// <summary>The CA's process id while it runs (to freeze it: a CA that accepts connections and answers nothing).</summary>
    public int CaProcessId => _pebble?.Id ?? 0;

    /// <summary>Stops Pebble, as a CA outage would; challtestsrv stays.</summary>
    public async Task StopCaAsync()
    {
        if (_pebble is { } pebble)
        {
            _pebble = null;
            await StopAsync(pebble);
        }
    }

    /// <summary>Both log every request; their pipes must be drained or they block.</summary>
    private Process Drained(Process process)
    {
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }

    /// <summary>An HttpClient that trusts Pebble's TLS certificate (and nothing else).</summary>
    public HttpClient CreateClient()
    {
        return new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 presented && _tls.Validates(presented) },
        }) { Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Makes <paramref name="host"/> resolve to <paramref name="addresses"/> (A or AAAA by family), in this order; none clears them.</summary>
    public async Task SetAddressesAsync(string host, params string[] addresses)
    {
        var fqdn = host.TrimEnd('.') + ".";
        using var dns = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_dnsManagementPort}/") };
        foreach (var (family, suffix) in new[] { (AddressFamily.InterNetwork, "a"), (AddressFamily.InterNetworkV6, "aaaa") })
        {
            // add-* appends to what the name had, so the records are cleared first: the order given is the order served.
            await PostAsync(dns, $"clear-{suffix}", new JsonObject { ["host"] = fqdn });
            var matching = addresses.Where(a => IPAddress.Parse(a).AddressFamily == family).ToArray();
            if (matching.Length > 0)
            {
                await PostAsync(dns, $"add-{suffix}", new JsonObject { ["host"] = fqdn, ["addresses"] = new JsonArray([.. matching.Select(m => (JsonNode)m)]) });
            }
        }
    }

    private static async Task PostAsync(HttpClient dns, string path, JsonObject body)
    {
        using var content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        using var response = await dns.PostAsync(path, content);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Pebble's root certificate (it makes a new one at each start).</summary>
    public async Task<X509Certificate2> RootAsync(int index = 0) =>
        X509Certificate2.CreateFromPem(await _management.GetStringAsync(new Uri(ManagementUrl, $"roots/{index}")));

    /// <summary>What Pebble says of a certificate's status (Valid or Revoked).</summary>
    public async Task<string> CertificateStatusAsync(X509Certificate2 certificate)
    {
        var status = await _management.GetFromJsonAsync<JsonObject>(new Uri(ManagementUrl, $"cert-status-by-serial/{certificate.SerialNumber.TrimStart('0').ToLowerInvariant()}"));
        return status?["Status"]?.GetValue<string>() ?? "";
    }

    /// <summary>What Pebble and its DNS server have printed, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    private readonly System.Text.StringBuilder _log = new();

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }



    private async Task WaitForPortAsync(int port, Process process, string name)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new AssertFailedException($"{name} exited {process.ExitCode}: {Log}");
            }
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        throw new AssertFailedException($"{name} did not listen on {port} within 20 s");
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopCaAsync();
        await StopAsync(_dns);
        _management.Dispose();
        _tls.Dispose();
        _directory.Dispose();
    }
}
