using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Issue 27: what each host really serves. Three agents get one certificate from Pebble; each host's server is one of
/// Debian's (nginx, HAProxy, hitch), started in a network namespace of its own on port 443 with the files its agent
/// installs. The test reads each server's leaf itself and compares it with what hawserctl says was served.
/// </summary>
[TestClass]
public sealed class ServedCertificateTests
{
    private const string Domain = "www.served.test";
    private static readonly string[] Nodes = ["web1", "web2", "web3"];
    private static readonly string[] ChallengeAddresses = ["127.0.4.71", "127.0.4.72", "127.0.4.73"];
    // Each server's namespace hangs off the runner on a /30 of its own: the runner's end, then the server's address.
    private static readonly (string Runner, string Server)[] Links = [("10.68.0.161/30", "10.68.0.162"), ("10.68.0.165/30", "10.68.0.166"), ("10.68.0.169/30", "10.68.0.170")];
    private static readonly TlsServerKind[] Kinds = [TlsServerKind.Nginx, TlsServerKind.HAProxy, TlsServerKind.Hitch];

    /// <summary>Where each node's install goes and what its server reads: nginx a pem-pair, HAProxy its PATH(.key), hitch one combined file.</summary>
    private static string Install(TlsServerKind kind) => kind switch
    {
        TlsServerKind.Nginx => "{format: pem-pair, cert: /etc/nginx/certs/www.crt, key: /etc/nginx/private/www.key",
        TlsServerKind.HAProxy => "{format: haproxy, path: /etc/haproxy/certs/www.pem",
        _ => "{format: combined, path: /etc/hitch/www.pem",
    };

    private static string Spec(Uri directory, List<TlsServer> servers) => $$$"""
        apiVersion: hawser/v1
        acme: {directory: "{{{directory}}}", validationPort: {{{PebbleServer.HttpChallengePort}}}}
        nodes:
        {{{string.Concat(Nodes.Select((node, i) => NodeBlock(node, servers[i])))}}}
        """;

    /// <summary>One node's certificate: its server's install format, checked at its server's address, reloaded by its server's script.</summary>
    private static string NodeBlock(string node, TlsServer server) =>
        $"  {node}:\n"
        + "    certificates:\n"
        + "      - name: www\n"
        + $"        domains: [{Domain}]\n"
        + $"        install: [{Install(server.Kind)}, verify: {{connect: \"{server.Address}:443\", sni: {Domain}}}}}]\n"
        + $"        reload: {{command: [{string.Join(", ", server.ReloadCommand)}]}}\n";

    /// <summary>Writes a chain and its key where a host keeps them; the chain's path.</summary>
    private static string Pair(AgentHost host, string chainPath, string chain, string keyPath, string key)
    {
        host.WriteFile(keyPath, key);
        return host.WriteFile(chainPath, chain);
    }

    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    private static async Task<JsonElement> CertificateAsync(ControllerProcess controller) =>
        JsonDocument.Parse((await Ctl(controller, "certs", "-o", "json")).StandardOutput).RootElement.GetProperty("certificates")[0];

    /// <summary>The serial each node's server was last seen serving, by hawserctl.</summary>
    private static Dictionary<string, string?> Served(JsonElement certificate) =>
        certificate.GetProperty("served").EnumerateArray().ToDictionary(s => s.GetProperty("node").GetString()!,
            s => s.GetProperty("serial").ValueKind == JsonValueKind.String ? s.GetProperty("serial").GetString() : null);

    /// <summary>Waits until hawserctl shows every node's server serving <paramref name="serial"/> and no node failing it.</summary>
    private static async Task WaitAllServedAsync(ControllerProcess controller, string serial, Func<string> diagnostics)
    {
        JsonElement certificate = default;
        var done = await Poll.UntilAsync(async () =>
        {
            certificate = await CertificateAsync(controller);
            var served = Served(certificate);
            return Nodes.All(n => served.GetValueOrDefault(n) == serial) && !certificate.GetProperty("nodeErrors").EnumerateObject().Any();
        }, TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(500));
        Assert.IsTrue(done, $"every node's server serves {serial}: {certificate}\n{diagnostics()}");
    }

    [TestMethod]
    public async Task Each_server_serves_the_new_serial_a_broken_reload_fails_the_node_with_both_serials_and_mending_it_clears_that()
    {
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.SetAddressesAsync(Domain, ChallengeAddresses);
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer]);
        using var ca = new TestCertificates("Before Hawser");
        var (oldChain, oldKey) = ca.IssuePem(Domain);
        var hosts = Nodes.Select(_ => new AgentHost()).ToArray();
        var namespaces = new List<NetworkNamespace>();
        var servers = new List<TlsServer>();
        var agents = new List<AgentProcess>();
        try
        {
            // Each host already serves a certificate from elsewhere, as a host does before Hawser manages it.
            for (var i = 0; i < Nodes.Length; i++)
            {
                var ns = await NetworkNamespace.CreateAsync($"tls{i + 1}");
                namespaces.Add(ns);
                await ns.LinkToRunnerAsync(Links[i].Runner, Links[i].Server + "/30");
                var host = hosts[i];
                var server = Kinds[i] switch
                {
                    TlsServerKind.Nginx => await TlsServer.StartAsync(Kinds[i], ns, Links[i].Server, Path.Join(data.Path, "nginx"),
                        host.WriteFile("/etc/nginx/certs/www.crt", oldChain), host.WriteFile("/etc/nginx/private/www.key", oldKey)),
                    TlsServerKind.HAProxy => await TlsServer.StartAsync(Kinds[i], ns, Links[i].Server, Path.Join(data.Path, "haproxy"),
                        Pair(host, "/etc/haproxy/certs/www.pem", oldChain, "/etc/haproxy/certs/www.pem.key", oldKey)),
                    _ => await TlsServer.StartAsync(Kinds[i], ns, Links[i].Server, Path.Join(data.Path, "hitch"), host.WriteFile("/etc/hitch/www.pem", oldKey + oldChain)),
                };
                servers.Add(server);
            }
            var before = await servers[0].ServedSerialAsync(Domain);
            Assert.IsNotNull(before);

            var token = JsonDocument.Parse((await Ctl(controller, "token", "create", "--uses", "3", "-o", "json")).StandardOutput).RootElement.GetProperty("token").GetString()!;
            for (var i = 0; i < Nodes.Length; i++)
            {
                hosts[i].WriteFile("/etc/hawser/agent.yaml", $"allowedCommands: [/bin/sh]\nacmeChallenge: {{listen: \"{ChallengeAddresses[i]}:{PebbleServer.HttpChallengePort}\"}}\n");
                agents.Add(AgentProcess.Start(hosts[i], Nodes[i], controller.Address, "--join-token", token, "--ca-hash", controller.CaHash));
            }
            foreach (var agent in agents)
            {
                await agent.WaitForAsync("connected to");
            }
            string Diagnostics() => string.Join("\n", controller.Log) + "\n" + string.Join("\n", agents.Select(a => $"{a.Node}:\n{a.Output}"));

            var spec = Path.Combine(data.Path, "spec.yaml");
            File.WriteAllText(spec, Spec(pebble.Directory, servers));
            var applied = await Ctl(controller, "apply", "-f", spec, "--no-wait");
            Assert.AreEqual(0, applied.ExitCode, applied.Output);

            // Installed, reloaded, and really served: hawserctl says so, and each server's own answer agrees.
            await Poll.UntilAsync(async () => (await CertificateAsync(controller)).GetProperty("serial").ValueKind == JsonValueKind.String, TimeSpan.FromSeconds(120));
            var first = (await CertificateAsync(controller)).GetProperty("serial").GetString()!;
            await WaitAllServedAsync(controller, first, Diagnostics);
            foreach (var server in servers)
            {
                Assert.AreEqual(first, await server.ServedSerialAsync(Domain), $"{server.Kind} serves the certificate Hawser installed");
            }
            var listing = await Ctl(controller, "certs");
            StringAssert.Contains(listing.StandardOutput.ReplaceLineEndings(" "), "web1 served", listing.Output);
            foreach (var node in Nodes)
            {
                StringAssert.Contains(listing.StandardOutput, $"{node} served", listing.Output);
            }

            // Every reload broken as it breaks in the field, then a new certificate: installed everywhere, served nowhere.
            foreach (var server in servers)
            {
                server.BreakReload();
            }
            var renew = await Ctl(controller, "certs", "renew", "www");
            Assert.AreEqual(1, renew.ExitCode, "a node failed: " + renew.Output);
            JsonElement broken = default;
            var second = "";
            Assert.IsTrue(await Poll.UntilAsync(async () =>
            {
                broken = await CertificateAsync(controller);
                second = broken.GetProperty("serial").GetString()!;
                var errors = broken.GetProperty("nodeErrors");
                return second != first && Nodes.All(n => errors.TryGetProperty(n, out _)) && Served(broken).Values.All(s => s == first);
            }, TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(500)), $"every node failed, its server still serving {first}: {broken}\n{Diagnostics()}");
            string Abbreviated(string serial) => serial[..12] + "…";
            foreach (var node in Nodes)
            {
                var error = broken.GetProperty("nodeErrors").GetProperty(node).GetString()!;
                StringAssert.Contains(error, $"serves {Abbreviated(first)}", $"{node} names the serial served");
                StringAssert.Contains(error, Abbreviated(second), $"{node} names the serial installed");
                Assert.AreEqual(second, broken.GetProperty("installed").GetProperty(node).GetString());
            }
            StringAssert.Contains(broken.GetProperty("nodeErrors").GetProperty("web1").GetString()!, "the reload failed");
            StringAssert.Contains(broken.GetProperty("nodeErrors").GetProperty("web3").GetString()!,
                $"/etc/hitch/www.pem installed {Abbreviated(second)}, 10.68.0.170:443 serves {Abbreviated(first)} (not reloaded?)");
            for (var i = 0; i < servers.Count; i++)
            {
                Assert.AreEqual(first, await servers[i].ServedSerialAsync(Domain), $"{servers[i].Kind} still serves the old certificate");
            }
            var text = await Ctl(controller, "certs");
            StringAssert.Contains(text.StandardOutput, $"web3 serves {Abbreviated(first)} (installed {Abbreviated(second)})", text.Output);
            StringAssert.Contains(text.StandardOutput, "www on web3: /etc/hitch/www.pem installed", text.Output);
            var events = JsonDocument.Parse((await Ctl(controller, "events", "--kind", "certificate.not-served", "-o", "json")).StandardOutput).RootElement;
            var notServed = events.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("node").GetString()).ToHashSet();
            CollectionAssert.AreEquivalent(Nodes, notServed.ToArray(), events.ToString());

            // Mended: the next converge reloads, every server serves the new serial, and no node is failed.
            foreach (var server in servers)
            {
                server.MendReload();
            }
            await WaitAllServedAsync(controller, second, Diagnostics);
            foreach (var server in servers)
            {
                Assert.AreEqual(second, await server.ServedSerialAsync(Domain), $"{server.Kind} serves the renewed certificate");
            }
            var status = JsonDocument.Parse((await Ctl(controller, "status", "-o", "json")).StandardOutput).RootElement.GetProperty("nodes");
            Assert.IsTrue(status.EnumerateArray().All(n => n.GetProperty("state").GetString() == "in-sync"), status.ToString());
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
            foreach (var ns in namespaces)
            {
                ns.Dispose();
            }
            foreach (var host in hosts)
            {
                host.Dispose();
            }
        }
    }
}
