using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Issue 5 end to end: a real controller orders from Debian's Pebble for a round-robin name served by
/// three real agents, each answering HTTP-01 on its own loopback address; Pebble validates whichever
/// address the name resolves to first, and every node ends up with the same certificate installed.
/// </summary>
[TestClass]
public sealed class AcmeFleetTests
{
    private const string Domain = "www.rr-fleet.test";
    private static readonly string[] Nodes = ["web1", "web2", "web3"];
    private static readonly string[] Addresses = ["127.0.4.1", "127.0.4.2", "127.0.4.3"];

    private static string Spec(Uri directory, string reloadLog, bool fallback = true) => $$$"""
        apiVersion: hawser/v1
        acme:
          directory: "{{{directory}}}"
          email: ops@example.org
          statelessFallback: {{{(fallback ? "true" : "false")}}}
          validationPort: {{{PebbleServer.HttpChallengePort}}}
        nodes:
          web1: {labels: {role: web}}
          web2: {labels: {role: web}}
          web3: {labels: {role: web}}
        profiles:
          web:
            selector: {role: web}
            certificates:
              - name: www
                domains: [{{{Domain}}}]
                install:
                  - {format: pem-pair, cert: /etc/ssl/hawser/www.crt, key: /etc/ssl/hawser/www.key}
                  - {format: combined, path: /etc/ssl/hawser/www.pem}
                reload:
                  command: [/bin/sh, -c, "echo reloaded >> {{{reloadLog}}}"]
        """;

    /// <summary>
    /// Waits until the reload log has <paramref name="expected"/> lines, then checks it stays there (no second reload)
    /// across two more reports from every node: each is a converge that would have reloaded again.
    /// </summary>
    private static async Task WaitForReloadsAsync(ControllerProcess controller, Func<int> count, int expected, Func<string>? diagnostics = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (count() < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        await controller.WaitForReportsAsync(2);
        Assert.AreEqual(expected, count(), "each node reloads once per new certificate, and only then\n" + diagnostics?.Invoke());
    }

    /// <summary>How many of the CA's validation requests the agent answered, by its log (the controller's preflight probes aside).</summary>
    private static int Answers(AgentProcess agent) =>
        agent.Output.Split('\n').Count(l => l.Contains(" ACME HTTP-01: answered", StringComparison.Ordinal) && !l.Contains("(preflight probe)", StringComparison.Ordinal));

    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    private static async Task<string> WaitForSerialAsync(AgentHost host, string? notThis, string node, Func<string> diagnostics)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var path = host.PathOf("/etc/ssl/hawser/www.crt");
            if (File.Exists(path))
            {
                using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(path));
                if (certificate.SerialNumber != notThis)
                {
                    return certificate.SerialNumber;
                }
            }
            await Task.Delay(250);
        }
        throw new AssertFailedException($"{node} has no new certificate after 60 s\n{diagnostics()}");
    }

    /// <summary>Stops every agent, then removes every host's root.</summary>
    private static async Task DisposeAllAsync(IEnumerable<AgentProcess> agents, IEnumerable<AgentHost>? hosts = null)
    {
        foreach (var agent in agents)
        {
            await agent.DisposeAsync();
        }
        foreach (var host in hosts ?? [])
        {
            host.Dispose();
        }
    }

    /// <summary>Enrolls one agent per node into <paramref name="agents"/>, each answering HTTP-01 on its address at Pebble's validation port.</summary>
    private static async Task StartAgentsAsync(ControllerProcess controller, AgentHost[] hosts, string[] nodes, string[] addresses, List<AgentProcess> agents)
    {
        var token = await Ctl(controller, "token", "create", "--uses", nodes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "json");
        var secret = JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!;
        for (var i = 0; i < nodes.Length; i++)
        {
            hosts[i].WriteFile("/etc/hawser/agent.yaml", $"allowedCommands: [/bin/sh]\nacmeChallenge: {{listen: \"{addresses[i]}:{PebbleServer.HttpChallengePort}\"}}\n");
            agents.Add(AgentProcess.Start(hosts[i], nodes[i], controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash));
        }
        foreach (var agent in agents)
        {
            await agent.WaitForAsync("connected to");
        }
    }

    /// <summary>A spec with one node, web1, that serves certificate 'www' for <paramref name="domain"/>, with extra certificate keys.</summary>
    private static string OneNodeSpec(Uri directory, string domain, string extra = "") => $$$"""
        apiVersion: hawser/v1
        acme: {directory: "{{{directory}}}", validationPort: {{{PebbleServer.HttpChallengePort}}}}
        nodes:
          web1:
            certificates:
              - name: www
                domains: [{{{domain}}}]
                install: [{format: pem-pair, cert: /etc/ssl/hawser/www.crt, key: /etc/ssl/hawser/www.key}]
                {{{extra}}}
        """;

    [TestMethod]
    public async Task Preflight_names_each_address_that_would_fail_validation_and_nothing_is_ordered()
    {
        const string domain = "pre.rr-fleet.test";
        await using var pebble = await PebbleServer.StartAsync();
        // web1 serves the name on 127.0.4.11; a stale A record leads to another web server, which knows no token,
        // and an AAAA record leads where nothing listens (the CA would try it first).
        await using var stranger = await Hawser.Shared.Acme.Http01Responder.StartAsync(
            new System.Net.IPEndPoint(System.Net.IPAddress.Parse("127.0.4.12"), PebbleServer.HttpChallengePort), CancellationToken.None);
        await pebble.SetAddressesAsync(domain, "127.0.4.11", "127.0.4.12", "::1");
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer]);
        using var host = new AgentHost();
        var agents = new List<AgentProcess>();
        try
        {
            await StartAgentsAsync(controller, [host], ["web1"], ["127.0.4.11"], agents);
            var spec = Path.Combine(data.Path, "spec.yaml");
            File.WriteAllText(spec, OneNodeSpec(pebble.Directory, domain));
            Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);

            var refused = await Ctl(controller, "certs", "renew", "www");

            Assert.AreEqual(1, refused.ExitCode, refused.Output);
            StringAssert.Contains(refused.StandardError, "certificate 'www': preflight failed, nothing was ordered");
            StringAssert.Contains(refused.StandardError, $"{domain} A 127.0.4.12 answers on port 5002 (HTTP 404");
            StringAssert.Contains(refused.StandardError, "but is not one of the nodes that serve it (web1)");
            StringAssert.Contains(refused.StandardError, $"{domain} AAAA ::1 does not answer HTTP on port 5002");
            StringAssert.Contains(refused.StandardError, "CAs try AAAA first");
            Assert.DoesNotContain("127.0.4.11", refused.StandardError, "web1's own address passed");
            Assert.DoesNotContain("Added order", pebble.Log, "no order reached the CA");
            Assert.IsFalse(File.Exists(host.PathOf("/etc/ssl/hawser/www.crt")));

            // With DNS mended, the same certificate is ordered and installed.
            await pebble.SetAddressesAsync(domain, "127.0.4.11");
            var renewed = await Ctl(controller, "certs", "renew", "www");
            Assert.AreEqual(0, renewed.ExitCode, renewed.Output);
            await WaitForSerialAsync(host, null, "web1", () => agents[0].Output);
        }
        finally
        {
            await DisposeAllAsync(agents);
        }
    }

    [TestMethod]
    public async Task A_challenge_is_answered_while_a_converge_is_held_inside_a_slow_daemon_restart()
    {
        const string domain = "held.rr-fleet.test";
        const string address = "127.0.4.31";
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.SetAddressesAsync(domain, address);
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path,
            extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer]);
        using var host = new AgentHost();
        var restart = new HeldServiceRestart(data.Path);
        host.WriteFile("/etc/hawser/agent.yaml", restart.AgentYaml("ndppd") + $"acmeChallenge: {{listen: \"{address}:{PebbleServer.HttpChallengePort}\"}}\n");
        host.WriteFile("/proc-sys/net/ipv6/conf/lo/proxy_ndp", "0\n");
        var token = await Ctl(controller, "token", "create", "-o", "json");
        var secret = JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!;
        await using var agent = AgentProcess.Start(host, "web1", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash,
            "--proc-sys", host.PathOf("/proc-sys"));
        await agent.WaitForAsync("connected to");
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, $$$"""
            apiVersion: hawser/v1
            acme: {directory: "{{{pebble.Directory}}}", validationPort: {{{PebbleServer.HttpChallengePort}}}}
            nodes:
              web1:
                ndpProxy: {interface: lo, mode: ndppd, rules: [{prefix: "fd68:6177:0:0:1::/80", method: static}]}
                certificates:
                  - name: www
                    domains: [{{{domain}}}]
                    install: [{format: pem-pair, cert: /etc/ssl/hawser/www.crt, key: /etc/ssl/hawser/www.key}]
            """);
        Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);
        await restart.WaitUntilHeldAsync(() => agent.Output);

        // The converge is inside ndppd's restart; the order's challenge must still be taken and acknowledged.
        var renewed = await Ctl(controller, "certs", "renew", "www", "--no-wait");

        Assert.AreEqual(0, renewed.ExitCode, renewed.Output + "\n" + string.Join("\n", controller.Log) + "\n" + agent.Output);
        Assert.IsTrue(restart.IsHeld, "the certificate was issued while the converge was still held");
        Assert.IsGreaterThanOrEqualTo(1, Answers(agent), agent.Output);
        restart.Release();
        await WaitForSerialAsync(host, null, "web1", () => string.Join("\n", controller.Log) + agent.Output);
    }

    [TestMethod]
    public async Task A_CA_that_is_down_at_first_is_retried_without_help_and_keyType_and_profile_are_honoured()
    {
        const string domain = "late.rr-fleet.test";
        await using var pebble = await PebbleServer.StartAsync(nonceRejectPercent: 20);
        await pebble.StopCaAsync();
        await pebble.SetAddressesAsync(domain, "127.0.4.21");
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path,
            extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer, "--certificate-retry", "00:00:01"]);
        using var host = new AgentHost();
        var agents = new List<AgentProcess>();
        try
        {
            await StartAgentsAsync(controller, [host], ["web1"], ["127.0.4.21"], agents);
            var spec = Path.Combine(data.Path, "spec.yaml");
            File.WriteAllText(spec, OneNodeSpec(pebble.Directory, domain, "keyType: rsa-2048"));
            Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);

            // The order fails while the CA is down, and says so where an operator looks.
            StringAssert.Contains(await WaitForLastErrorAsync(controller), "cannot reach the CA at " + pebble.Directory);
            StringAssert.Contains(string.Join("\n", controller.Log), "next attempt in");

            await pebble.StartCaAsync();

            await WaitForSerialAsync(host, null, "web1", () => string.Join("\n", controller.Log) + agents[0].Output);
            using var installed = X509Certificate2.CreateFromPem(host.ReadFile("/etc/ssl/hawser/www.crt"));
            using var rsa = installed.GetRSAPublicKey();
            Assert.AreEqual(2048, rsa?.KeySize, "keyType: rsa-2048 gives an RSA 2048 key");

            // Pebble 2.4 offers no profiles: asking for one is refused by name before ordering.
            File.WriteAllText(spec, OneNodeSpec(pebble.Directory, domain, "profile: shortlived"));
            Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);
            var refused = await Ctl(controller, "certs", "renew", "www");
            Assert.AreEqual(1, refused.ExitCode, refused.Output);
            StringAssert.Contains(refused.StandardError, "shortlived");
            StringAssert.Contains(refused.StandardError, "the CA does not offer the profile 'shortlived' (offered: none)");
        }
        finally
        {
            await DisposeAllAsync(agents);
        }
    }

    [TestMethod]
    public async Task A_certificate_that_enters_its_renewal_window_is_renewed_on_its_own_and_each_node_reloads_once()
    {
        const string domain = "window.rr-fleet.test";
        string[] nodes = ["web1", "web2"];
        string[] addresses = ["127.0.4.41", "127.0.4.42"];
        await using var pebble = await PebbleServer.StartAsync(nonceRejectPercent: 10);
        await pebble.SetAddressesAsync(domain, addresses);
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path,
            extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer, "--certificate-check-interval", "00:00:01"]);
        var hosts = nodes.Select(_ => new AgentHost()).ToArray();
        var agents = new List<AgentProcess>();
        try
        {
            await StartAgentsAsync(controller, hosts, nodes, addresses, agents);
            var reloads = Path.Combine(data.Path, "reloads.log");
            int Reloads() => File.Exists(reloads) ? File.ReadAllLines(reloads).Length : 0;
            var spec = Path.Combine(data.Path, "spec.yaml");
            File.WriteAllText(spec, $$$"""
                apiVersion: hawser/v1
                acme: {directory: "{{{pebble.Directory}}}", validationPort: {{{PebbleServer.HttpChallengePort}}}}
                nodes:
                  web1: {labels: {role: web}}
                  web2: {labels: {role: web}}
                profiles:
                  web:
                    selector: {role: web}
                    certificates:
                      - name: www
                        domains: [{{{domain}}}]
                        install: [{format: pem-pair, cert: /etc/ssl/hawser/www.crt, key: /etc/ssl/hawser/www.key}]
                        reload: {command: [/bin/sh, -c, "echo reloaded >> {{{reloads}}}"]}
                """);
            Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);
            string Diagnostics() => string.Join("\n", controller.Log) + string.Join("\n", agents.Select(a => a.Output));
            var first = await WaitForSerialAsync(hosts[0], null, "web1", Diagnostics);
            Assert.AreEqual(first, await WaitForSerialAsync(hosts[1], null, "web2", Diagnostics));
            await WaitForReloadsAsync(controller, Reloads, 2, Diagnostics);

            // Time passes: the held certificate is now 60 days into a 61-day life, past two thirds of it.
            using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data.Path, "controller.db")}"))
            {
                db.Open();
                using var command = db.CreateCommand();
                command.CommandText = "UPDATE issued_certificates SET not_before_ms = $before, not_after_ms = $after WHERE name = 'www'";
                command.Parameters.AddWithValue("$before", DateTimeOffset.UtcNow.AddDays(-60).ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$after", DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds());
                Assert.AreEqual(1, command.ExecuteNonQuery());
            }

            var renewed = await WaitForSerialAsync(hosts[0], first, "web1", Diagnostics);
            Assert.AreEqual(renewed, await WaitForSerialAsync(hosts[1], first, "web2", Diagnostics), "both nodes have the renewed certificate");
            await WaitForReloadsAsync(controller, Reloads, 4, Diagnostics);
            StringAssert.Contains(Diagnostics(), $"certificate www issued: serial {renewed}");

            // A renewal is the controller's change, not the host drifting: once both nodes have reported the new
            // serial, neither shows a drift correction.
            var reportedDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            JsonElement installed;
            do
            {
                await Task.Delay(250);
                installed = JsonDocument.Parse((await Ctl(controller, "certs", "-o", "json")).StandardOutput).RootElement.GetProperty("certificates")[0].GetProperty("installed");
            }
            while (nodes.Any(n => !installed.TryGetProperty(n, out var s) || s.GetString() != renewed) && DateTime.UtcNow < reportedDeadline);
            var status = JsonDocument.Parse((await Ctl(controller, "status", "-o", "json")).StandardOutput).RootElement.GetProperty("nodes");
            foreach (var node in status.EnumerateArray())
            {
                Assert.AreEqual(renewed, installed.GetProperty(node.GetProperty("name").GetString()!).GetString());
                Assert.AreEqual(0u, node.GetProperty("driftCorrected").GetUInt32(), $"{node.GetProperty("name").GetString()}: {node}");
            }
        }
        finally
        {
            await DisposeAllAsync(agents, hosts);
        }
    }

    [TestMethod]
    public async Task A_controller_killed_before_its_order_succeeded_orders_again_after_restart()
    {
        const string domain = "restart.rr-fleet.test";
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.StopCaAsync();
        await pebble.SetAddressesAsync(domain, "127.0.4.31");
        using var data = new TempDirectory();
        var listen = $"127.0.0.1:{FreeTcpPort()}";
        string[] options = ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer, "--certificate-retry", "00:00:01"];
        var controller = await ControllerProcess.StartAsync(data.Path, listen, extra: options);
        using var host = new AgentHost();
        var agents = new List<AgentProcess>();
        try
        {
            await StartAgentsAsync(controller, [host], ["web1"], ["127.0.4.31"], agents);
            var spec = Path.Combine(data.Path, "spec.yaml");
            File.WriteAllText(spec, OneNodeSpec(pebble.Directory, domain));
            Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);
            await WaitForLastErrorAsync(controller);

            // SIGKILL: no shutdown code runs. The spec and the account state are all that is kept.
            System.Diagnostics.Process.GetProcessById(controller.Pid).Kill();
            await controller.DisposeAsync();
            await pebble.StartCaAsync();
            controller = await ControllerProcess.StartAsync(data.Path, listen, extra: options);

            await WaitForSerialAsync(host, null, "web1", () => string.Join("\n", controller.Log) + agents[0].Output);
        }
        finally
        {
            await DisposeAllAsync(agents);
            await controller.DisposeAsync();
        }
    }

    /// <summary>
    /// A port free now and below Linux's ephemeral range (32768-60999): the controller listens on it again after a restart,
    /// and a port from that range can be taken meanwhile as the source port of any outgoing connection on the machine.
    /// </summary>
    private static int FreeTcpPort()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(20000, 32000);
            try
            {
                using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException) when (attempt < 100)
            {
                // Taken: try another.
            }
        }
    }

    /// <summary>Waits until <c>hawserctl certs</c> shows the first certificate's last error, and returns it.</summary>
    private static async Task<string> WaitForLastErrorAsync(ControllerProcess controller)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            var listed = JsonDocument.Parse((await Ctl(controller, "certs", "-o", "json")).StandardOutput).RootElement.GetProperty("certificates");
            if (listed.GetArrayLength() > 0 && listed[0].TryGetProperty("lastError", out var error) && error.ValueKind == JsonValueKind.String)
            {
                return error.GetString()!;
            }
        }
        throw new AssertFailedException("no order failed within 30 s\n" + string.Join("\n", controller.Log));
    }

    [TestMethod]
    public async Task Every_node_gets_the_certificate_whichever_host_the_CA_validates_and_a_silent_node_is_named()
    {
        await using var pebble = await PebbleServer.StartAsync(nonceRejectPercent: 5);
        // The first address is the one Pebble dials: web2 answers the first order, though the controller placed it.
        await pebble.SetAddressesAsync(Domain, Addresses[1], Addresses[0], Addresses[2]);
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer]);
        var hosts = Nodes.Select(_ => new AgentHost()).ToArray();
        var agents = new List<AgentProcess>();
        string Diagnostics() => $"controller:\n{string.Join("\n", controller.Log)}\n" + string.Join("\n", agents.Select(a => a.Output));
        try
        {
            await StartAgentsAsync(controller, hosts, Nodes, Addresses, agents);
            var spec = Path.Combine(data.Path, "spec.yaml");
            // Every node's reload appends a line here: one line per node per new certificate.
            var reloads = Path.Combine(data.Path, "reloads.log");
            int Reloads() => File.Exists(reloads) ? File.ReadAllLines(reloads).Length : 0;
            File.WriteAllText(spec, Spec(pebble.Directory, reloads));

            // apply waits while the controller obtains the certificate: that wait is neither a failure nor a lost change.
            var apply = await Ctl(controller, "apply", "-f", spec);
            var first = new List<string>();
            for (var i = 0; i < Nodes.Length; i++)
            {
                first.Add(await WaitForSerialAsync(hosts[i], null, Nodes[i], Diagnostics));
            }

            Assert.AreEqual(0, apply.ExitCode, apply.Output);
            foreach (var node in Nodes)
            {
                StringAssert.Matches(apply.StandardOutput, new System.Text.RegularExpressions.Regex($@"{node} : ok=\d+ changed=[1-9]\d* failed=0 unreachable=0\n(    changed .*\n)*    changed certificate:www"), apply.Output);
            }
            var failedEvents = await Ctl(controller, "events", "--kind", "node.failed", "-o", "json");
            Assert.AreEqual(0, JsonDocument.Parse(failedEvents.StandardOutput).RootElement.GetProperty("events").GetArrayLength(),
                "waiting for the certificate is not a failure\n" + failedEvents.Output);
            Assert.IsGreaterThan(0, Answers(agents[1]), "web2, first in DNS, answered the CA's first validation");
            Assert.AreEqual(0, Answers(agents[0]) + Answers(agents[2]), "no other host was asked");
            Assert.AreEqual(1, first.Distinct().Count(), "every node installed the same certificate: " + string.Join(", ", first));
            foreach (var agent in agents)
            {
                StringAssert.Contains(agent.Output, "(preflight probe) to 127.0.0.1", "the controller's preflight asked every address in DNS before ordering");
            }
            var expectedReloads = Nodes.Length;
            await WaitForReloadsAsync(controller, Reloads, expectedReloads);
            using var root = await pebble.RootAsync();
            foreach (var host in hosts)
            {
                var chain = new X509Certificate2Collection();
                chain.ImportFromPemFile(host.PathOf("/etc/ssl/hawser/www.crt"));
                using var verify = new X509Chain();
                verify.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                verify.ChainPolicy.CustomTrustStore.Add(root);
                verify.ChainPolicy.ExtraStore.AddRange(chain);
                verify.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                Assert.IsTrue(verify.Build(chain[0]), "the installed chain leads to Pebble's root");
                StringAssert.Contains(host.ReadFile("/etc/ssl/hawser/www.pem"), "PRIVATE KEY", "the combined file for hitch/HAProxy holds the key too");
                using var pair = X509Certificate2.CreateFromPemFile(host.PathOf("/etc/ssl/hawser/www.crt"), host.PathOf("/etc/ssl/hawser/www.key"));
                Assert.IsTrue(pair.HasPrivateKey, "nginx's pair loads: certificate and key match");
                Assert.AreNotEqual(string.Empty, host.ReadFile("/var/lib/hawser/acme-thumbprint").Trim(), "agents know the account thumbprint for the stateless fallback");
            }

            // Each of the other hosts is the one validated in turn; every node follows each renewal. More than three orders
            // for one name in a week is what the breaker refuses; these are on purpose, so forced.
            var serial = first[0];
            foreach (var validated in new[] { 2, 0 })
            {
                await pebble.SetAddressesAsync(Domain, Addresses[validated], Addresses[(validated + 1) % 3], Addresses[(validated + 2) % 3]);
                var answeredBefore = agents.Select(Answers).ToArray();
                var renew = await Ctl(controller, "certs", "renew", "www", "--force");
                Assert.AreEqual(0, renew.ExitCode, renew.Output);
                // renew waits until every node reports the new serial installed, and ends with a recap.
                StringAssert.Contains(renew.StandardOutput, "RECAP certificate www serial ");
                Assert.AreEqual(3, System.Text.RegularExpressions.Regex.Count(renew.StandardOutput, @"web\d : ok=\d+ changed=\d+ failed=0 unreachable=0\n"), renew.Output);
                // The agent logs its answer from the console logger's own thread, and this test reads the agent's output
                // as it comes: on a loaded machine the line can arrive after the renewal's recap.
                await Poll.UntilAsync(() => Answers(agents[validated]) > answeredBefore[validated], TimeSpan.FromSeconds(30));
                var answeredAfter = agents.Select(Answers).ToArray();
                for (var i = 0; i < Nodes.Length; i++)
                {
                    Assert.AreEqual(i == validated, answeredAfter[i] > answeredBefore[i], $"only {Nodes[validated]}, first in DNS, answered the CA ({Nodes[i]})");
                }
                var next = new List<string>();
                for (var i = 0; i < Nodes.Length; i++)
                {
                    next.Add(await WaitForSerialAsync(hosts[i], serial, Nodes[i], Diagnostics));
                }
                Assert.AreEqual(1, next.Distinct().Count(), $"validated through {Nodes[validated]}: every node has the new certificate");
                expectedReloads += Nodes.Length;
                await WaitForReloadsAsync(controller, Reloads, expectedReloads, Diagnostics);
                serial = next[0];
            }
            // web3 restarts against a controller it cannot reach: it misses every push, but its responder still
            // answers statelessly with the thumbprint it kept, so an order validated through web3 succeeds.
            var web3 = agents[2];
            agents.Remove(web3);
            await web3.DisposeAsync();
            agents.Add(AgentProcess.Start(hosts[2], "web3", new Uri("https://127.0.0.1:1/")));
            await agents[^1].WaitForAsync("answering ACME HTTP-01");
            await pebble.SetAddressesAsync(Domain, Addresses[2], Addresses[0], Addresses[1]);
            var beforeMissed = serial;
            var missed = await Ctl(controller, "certs", "renew", "www", "--force", "--no-wait");
            Assert.AreEqual(0, missed.ExitCode, missed.Output);
            StringAssert.Contains(agents[^1].Output, "(stateless) to 127.0.0.1", "web3 answered without having been told the token");
            var afterMissed = new[] { await WaitForSerialAsync(hosts[0], serial, "web1", Diagnostics), await WaitForSerialAsync(hosts[1], serial, "web2", Diagnostics) };
            Assert.AreEqual(1, afterMissed.Distinct().Count());
            serial = afterMissed[0];

            // Which node has which serial, from their reports: web3 missed the last delivery and still has the one before.
            var listedDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            JsonElement certificate;
            do
            {
                await Task.Delay(250);
                certificate = JsonDocument.Parse((await Ctl(controller, "certs", "-o", "json")).StandardOutput).RootElement.GetProperty("certificates")[0];
            }
            while (certificate.GetProperty("installed").GetProperty("web2").GetString() != serial && DateTime.UtcNow < listedDeadline);
            Assert.AreEqual(serial, certificate.GetProperty("serial").GetString());
            Assert.AreEqual("web1,web2,web3", string.Join(",", certificate.GetProperty("nodes").EnumerateArray().Select(n => n.GetString())));
            Assert.AreEqual(serial, certificate.GetProperty("installed").GetProperty("web1").GetString());
            Assert.AreEqual(serial, certificate.GetProperty("installed").GetProperty("web2").GetString());
            Assert.AreEqual(beforeMissed, certificate.GetProperty("installed").GetProperty("web3").GetString(), "web3 reported the serial before, which it still has");

            // With the stateless fallback off, a node that cannot be told fails the order, by name.
            File.WriteAllText(spec, Spec(pebble.Directory, reloads, fallback: false));
            var fallbackOff = await Ctl(controller, "apply", "-f", spec, "--no-wait");
            Assert.AreEqual(0, fallbackOff.ExitCode, fallbackOff.Output);
            StringAssert.Contains(fallbackOff.StandardOutput, "stored");
            await pebble.SetAddressesAsync(Domain, Addresses[0], Addresses[1]);
            var refused = await Ctl(controller, "certs", "renew", "www", "--force");
            Assert.AreEqual(1, refused.ExitCode, refused.Output + "\n" + Diagnostics());
            StringAssert.Contains(refused.StandardError, "not every node can answer the challenge for www.rr-fleet.test");
            StringAssert.Contains(refused.StandardError, "web3 (not connected)");
            var afterFailure = JsonDocument.Parse((await Ctl(controller, "certs", "-o", "json")).StandardOutput).RootElement.GetProperty("certificates")[0];
            StringAssert.Contains(afterFailure.GetProperty("lastError").GetString(), "web3 (not connected)");
            Assert.AreEqual(serial, afterFailure.GetProperty("serial").GetString(), "the certificate held stays");
        }
        finally
        {
            await DisposeAllAsync(agents, hosts);
        }
    }

    [TestMethod]
    public async Task Certificates_the_CA_cannot_issue_over_http01_are_refused_at_apply_with_their_line_and_nothing_is_ordered()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        foreach (var (domains, reason) in new[]
        {
            ("[\"*.rr-fleet.test\"]", "is a wildcard; CAs issue wildcards only with dns-01, not http-01"),
            ("[www_rr.test]", "www_rr.test"),
            ("[]", "needs at least one domain"),
        })
        {
            var path = Path.Combine(data.Path, "bad.yaml");
            File.WriteAllText(path, $"apiVersion: hawser/v1\nacme: {{directory: \"https://127.0.0.1:1/dir\"}}\nnodes:\n  web1:\n    certificates:\n      - {{name: www, domains: {domains}, install: [{{format: combined, path: /etc/ssl/hawser/www.pem}}]}}\n");

            var bad = await Ctl(controller, "apply", "-f", path);

            Assert.AreEqual(1, bad.ExitCode, bad.Output);
            StringAssert.Contains(bad.StandardError, $"{path}:6:");
            StringAssert.Contains(bad.StandardError, reason);
        }
        var revisions = await Ctl(controller, "revisions", "-o", "json");
        var certs = await Ctl(controller, "certs");
        Assert.AreEqual(0, JsonDocument.Parse(revisions.StandardOutput).RootElement.GetProperty("revisions").GetArrayLength(), "nothing was stored");
        StringAssert.Contains(certs.StandardOutput, "asks for no certificates", "so nothing is ordered");
    }

    [TestMethod]
    public async Task An_agent_whose_challenge_port_is_taken_says_so_and_keeps_working()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Parse("127.0.4.9"), 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var token = await Ctl(controller, "token", "create", "-o", "json");
        var secret = JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!;
        using var host = new AgentHost();
        host.WriteFile("/etc/hawser/agent.yaml", $"acmeChallenge: {{listen: \"127.0.4.9:{port}\"}}\n");

        await using var agent = AgentProcess.Start(host, "web1", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash);
        await agent.WaitForAsync("connected to");

        StringAssert.Contains(agent.Output, $"Z warn: hawser-agent[24] cannot listen on 127.0.4.9:{port} for HTTP-01");
        StringAssert.Contains(agent.Output, "this host cannot answer HTTP-01 challenges (set acmeChallenge.webroot in agent.yaml, or free the port)");
    }
}
