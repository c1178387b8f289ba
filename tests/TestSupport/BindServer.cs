using System.Diagnostics;
using System.Text;

namespace Hawser.TestSupport;

/// <summary>
/// Debian's BIND 9 (<c>named -g</c>), authoritative only (no recursion), on port 53 of one address in a
/// network namespace (named listens only on addresses an interface holds, so not on a spare loopback
/// address), with the zones a test gives it in a directory of its own. A zone may take RFC 2136
/// updates signed with the server's TSIG key (<see cref="KeyFile"/>, as <c>tsig-keygen</c> writes it).
/// </summary>
public sealed class BindServer : IDisposable
{
    private readonly TempDirectory _directory = new("hawser-bind-");
    private readonly StringBuilder _log = new();
    private Process? _process;

    private readonly NetworkNamespace _ns;

    private BindServer(NetworkNamespace ns, string address)
    {
        _ns = ns;
        Address = address;
    }

    /// <summary>The address it answers on, port 53.</summary>
    public string Address { get; }

    /// <summary>The TSIG key file (0600) whose key may update the zones marked updatable.</summary>
    public string KeyFile => Path.Join(_directory.Path, "update.key");

    /// <summary>The TSIG key's name.</summary>
    public const string KeyName = "hawser-acme";

    /// <summary>What named printed.</summary>
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

    /// <summary>Starts named in <paramref name="ns"/> on <paramref name="address"/>:53 serving <paramref name="zones"/> (name, zone file text, whether the key may update it).</summary>
    public static Task<BindServer> StartAsync(NetworkNamespace ns, string address, params (string Name, string Text, bool Updatable)[] zones) =>
        StartAsync(ns, address, zones, []);

    /// <summary>
    /// Starts named as a recursive resolver, as a CA's is: it asks <paramref name="servers"/> for the zones
    /// named (a static stub each, the test's stand-in for the delegation from the root) and follows CNAMEs
    /// from one zone into another, which an authoritative-only server does not.
    /// </summary>
    public static Task<BindServer> StartResolverAsync(NetworkNamespace ns, string address, params (string Zone, string Server)[] servers) =>
        StartAsync(ns, address, [], servers);

    private static async Task<BindServer> StartAsync(NetworkNamespace ns, string address, (string Name, string Text, bool Updatable)[] zones, (string Zone, string Server)[] stubs)
    {
        var server = new BindServer(ns, address);
        try
        {
            await server.StartAsync(zones, stubs);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private async Task StartAsync((string Name, string Text, bool Updatable)[] zones, (string Zone, string Server)[] stubs)
    {
        var dir = _directory.Path;
        var key = await ExternalProcess.RunAsync("tsig-keygen", ["-a", "hmac-sha256", KeyName]);
        Assert.AreEqual(0, key.ExitCode, key.Output);
        File.WriteAllText(KeyFile, key.StandardOutput);
        File.SetUnixFileMode(KeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var config = new StringBuilder($$"""
            options {
                directory "{{dir}}";
                pid-file "{{dir}}/named.pid";
                session-keyfile "{{dir}}/session.key";
                listen-on port 53 { {{Address}}; };
                listen-on-v6 { none; };
                recursion {{(stubs.Length > 0 ? "yes; allow-recursion { any; }" : "no")}};
                dnssec-validation no;
                notify no;
                allow-transfer { none; };
            };
            controls { };
            include "{{KeyFile}}";

            """);
        foreach (var (name, text, updatable) in zones)
        {
            File.WriteAllText(Path.Join(dir, name + ".zone"), text);
            config.Append($"zone \"{name}\" {{ type primary; file \"{dir}/{name}.zone\";{(updatable ? $" update-policy {{ grant {KeyName} zonesub TXT; }};" : "")} }};\n");
        }
        foreach (var (zone, server) in stubs)
        {
            config.Append($"zone \"{zone}\" {{ type static-stub; server-addresses {{ {server}; }}; }};\n");
        }
        File.WriteAllText(Path.Join(dir, "named.conf"), config.ToString());
        var check = await ExternalProcess.RunAsync("named-checkconf", ["-z", Path.Join(dir, "named.conf")]);
        Assert.AreEqual(0, check.ExitCode, check.Output);
        _process = ExternalProcess.Start("nsenter", [$"--net=/run/netns/{_ns.Name}", "named", "-g", "-n", "1", "-c", Path.Join(dir, "named.conf")]);
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var started = await Poll.UntilAsync(() => Log.Contains("running", StringComparison.Ordinal) || _process.HasExited, TimeSpan.FromSeconds(60));
        if (!started || _process.HasExited)
        {
            throw new AssertFailedException("named did not start: " + Log);
        }
    }

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

    /// <summary>The TXT values at <paramref name="name"/>, as this server answers them (dig, non-recursive).</summary>
    public async Task<string[]> TxtAsync(string name)
    {
        var dig = await ExternalProcess.RunAsync("dig", ["+short", "+norecurse", $"@{Address}", name, "TXT"]);
        Assert.AreEqual(0, dig.ExitCode, dig.Output);
        return dig.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Stops named and removes its directory.</summary>
    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process?.Dispose();
        _directory.Dispose();
    }
}
