using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Hawser.TestSupport;

/// <summary>Which of Debian's TLS servers a <see cref="TlsServer"/> runs.</summary>
public enum TlsServerKind
{
    /// <summary>nginx, reading a pem-pair install.</summary>
    Nginx,

    /// <summary>HAProxy in master-worker mode, reading a haproxy install (PATH and PATH.key).</summary>
    HAProxy,

    /// <summary>hitch, reading a combined install (key and chain in one file).</summary>
    Hitch,
}

/// <summary>
/// One of Debian's TLS servers, started daemonised in a network namespace of its own (linked to the test runner) on
/// ADDRESS:443, serving the files an agent installs. Its reload is a script (<see cref="ReloadCommand"/>) the way an
/// operator would write one: nginx's <c>-s reload</c>, HAProxy's config check then SIGUSR2 to the master, hitch's SIGHUP.
/// <see cref="BreakReload"/> breaks it the way it breaks in the field; <see cref="MendReload"/> mends it.
/// The namespace's disposal stops the server.
/// </summary>
public sealed class TlsServer
{
    private readonly string _config;
    private readonly string _good;

    private TlsServer(TlsServerKind kind, string address, string directory, string config, string good)
    {
        Kind = kind;
        Address = address;
        Directory = directory;
        _config = config;
        _good = good;
    }

    /// <summary>The server.</summary>
    public TlsServerKind Kind { get; }

    /// <summary>The address it listens on (port 443).</summary>
    public string Address { get; }

    /// <summary>Its own directory: config, pid file, log, reload script.</summary>
    public string Directory { get; }

    /// <summary>The reload, as the spec's <c>reload.command</c> argv.</summary>
    public IReadOnlyList<string> ReloadCommand => ["/bin/sh", Path.Join(Directory, "reload.sh")];

    /// <summary>
    /// Starts <paramref name="kind"/> in <paramref name="ns"/> on <paramref name="address"/>:443, reading <paramref name="certificate"/>
    /// (the pem-pair chain, the haproxy path or the combined file) and, for nginx, <paramref name="key"/>.
    /// </summary>
    public static async Task<TlsServer> StartAsync(TlsServerKind kind, NetworkNamespace ns, string address, string directory, string certificate, string? key = null)
    {
        System.IO.Directory.CreateDirectory(directory);
        var pid = Path.Join(directory, "server.pid");
        var config = Path.Join(directory, kind switch { TlsServerKind.Nginx => "nginx.conf", TlsServerKind.HAProxy => "haproxy.cfg", _ => "hitch.conf" });
        var (text, reload, start) = kind switch
        {
            TlsServerKind.Nginx => ($$"""
                daemon on; worker_processes 1; user root; pid {{pid}}; error_log {{directory}}/error.log;
                events {}
                http {
                  access_log off; client_body_temp_path {{directory}}/t1; proxy_temp_path {{directory}}/t2; fastcgi_temp_path {{directory}}/t3;
                  uwsgi_temp_path {{directory}}/t4; scgi_temp_path {{directory}}/t5;
                  server { listen {{address}}:443 ssl; ssl_certificate {{certificate}}; ssl_certificate_key {{key}}; return 200; }
                }
                """, $"exec /usr/sbin/nginx -c {config} -s reload\n", new[] { "/usr/sbin/nginx", "-c", config }),
            TlsServerKind.HAProxy => ($"""
                defaults
                  mode http
                  timeout connect 5s
                  timeout client 5s
                  timeout server 5s
                frontend https
                  bind {address}:443 ssl crt {certificate}
                  http-request return status 200
                """, $"/usr/sbin/haproxy -c -q -f {config} && exec kill -USR2 \"$(cat {pid})\"\n",
                new[] { "/usr/sbin/haproxy", "-W", "-D", "-f", config, "-p", pid }),
            _ => ($"""
                frontend = "[{address}]:443"
                backend = "[127.0.0.1]:6086"
                pem-file = "{certificate}"
                daemon = on
                """, $"exec kill -HUP \"$(cat {pid})\"\n", new[] { "/usr/sbin/hitch", $"--config={config}", $"--pidfile={pid}", "--user=root" }),
        };
        File.WriteAllText(config, text + "\n");
        File.WriteAllText(Path.Join(directory, "reload.sh"), reload);
        await ns.ExecAsync(start);
        var server = new TlsServer(kind, address, directory, config, text);
        if (!await Poll.UntilAsync(async () => await server.ServedSerialAsync("localhost") is not null, TimeSpan.FromSeconds(30)))
        {
            throw new AssertFailedException($"{kind} does not answer TLS on {address}:443");
        }
        return server;
    }

    /// <summary>The install target (a spec's flow mapping, without its closing brace) whose files this kind of server reads.</summary>
    public static string InstallOf(TlsServerKind kind) => kind switch
    {
        TlsServerKind.Nginx => "{format: pem-pair, cert: /etc/nginx/certs/www.crt, key: /etc/nginx/private/www.key",
        TlsServerKind.HAProxy => "{format: haproxy, path: /etc/haproxy/certs/www.pem",
        _ => "{format: combined, path: /etc/hitch/www.pem",
    };

    /// <summary>
    /// Puts a certificate from elsewhere (<paramref name="chain"/>, <paramref name="key"/>) where <paramref name="host"/>'s install
    /// for <paramref name="kind"/> goes (<see cref="InstallOf"/>), as a host has before Hawser manages it, and starts the server on it
    /// in a new namespace linked to the runner (<paramref name="runnerAddress"/> a CIDR on the runner's end, <paramref name="address"/> the server's).
    /// </summary>
    public static async Task<TlsServer> StartOnHostAsync(TlsServerKind kind, AgentHost host, NetworkNamespace ns, string runnerAddress, string address, string directory,
        string chain, string key)
    {
        await ns.LinkToRunnerAsync(runnerAddress, $"{address}/{runnerAddress.Split('/')[1]}");
        switch (kind)
        {
            case TlsServerKind.Nginx:
                return await StartAsync(kind, ns, address, directory, host.WriteFile("/etc/nginx/certs/www.crt", chain), host.WriteFile("/etc/nginx/private/www.key", key));
            case TlsServerKind.HAProxy:
                host.WriteFile("/etc/haproxy/certs/www.pem.key", key);
                return await StartAsync(kind, ns, address, directory, host.WriteFile("/etc/haproxy/certs/www.pem", chain));
            default:
                return await StartAsync(kind, ns, address, directory, host.WriteFile("/etc/hitch/www.pem", key + chain));
        }
    }

    /// <summary>
    /// Breaks the reload as it breaks in the field: nginx's config made invalid (its <c>-s reload</c> refuses), HAProxy's
    /// config made invalid (the check before the signal fails), hitch's script no longer signalling it (it exits 0).
    /// </summary>
    public void BreakReload()
    {
        if (Kind == TlsServerKind.Hitch)
        {
            File.WriteAllText(Path.Join(Directory, "reload.sh"), "exit 0\n");
        }
        else
        {
            File.WriteAllText(_config, _good + "\nthis line is not configuration {\n");
        }
    }

    /// <summary>Puts the good config and reload script back.</summary>
    public void MendReload()
    {
        File.WriteAllText(_config, _good + "\n");
        if (Kind == TlsServerKind.Hitch)
        {
            File.WriteAllText(Path.Join(Directory, "reload.sh"), $"exec kill -HUP \"$(cat {Path.Join(Directory, "server.pid")})\"\n");
        }
    }

    /// <summary>The serial of the leaf it serves to a client asking for <paramref name="serverName"/>, read by the test itself; null when it does not answer.</summary>
    public async Task<string?> ServedSerialAsync(string serverName)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.ConnectAsync(Address, 443, timeout.Token);
            // The question is which leaf is served, not whether to trust it.
#pragma warning disable CA5359
            await using var tls = new SslStream(client.GetStream(), false, (_, _, _, _) => true);
#pragma warning restore CA5359
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = serverName }, timeout.Token);
            using var leaf = new X509Certificate2(tls.RemoteCertificate!);
            return leaf.SerialNumber;
        }
        catch (Exception ex) when (ex is SocketException or IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            return null;
        }
    }
}
