using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// DNS-01 through a delegated zone, end to end: Debian's BIND 9 is authoritative for the parent zone
/// (example.test, whose <c>_acme-challenge</c> names are CNAMEs into acme-dns.test) and for acme-dns.test,
/// which takes RFC 2136 updates signed with a TSIG key; Pebble resolves through it and validates. BIND
/// runs in a network namespace joined to the test runner's by a veth (10.68.0.200/29); two more there are
/// recursive resolvers, one the controller's and one Pebble's, as a CA's is its own (the controller's look-up
/// of a name not yet written would otherwise sit in Pebble's negative cache). The
/// controller follows the CNAMEs, writes the TXT record, waits for every authoritative server, and removes
/// the record afterwards.
/// </summary>
[TestClass]
public sealed class Dns01FleetTests
{
    private const string Primary = "10.68.0.202";
    private const string Lagging = "10.68.0.203";
    private const string Resolver = "10.68.0.204";
    private const string CaResolver = "10.68.0.205";
    private static readonly string[] Nodes = ["web1", "web2", "web3"];

    private const string ParentZone = $"""
        $TTL 60
        @ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60
        @ IN NS ns1.example.test.
        ns1 IN A {Primary}
        _acme-challenge.www IN CNAME www.acme-dns.test.
        _acme-challenge IN CNAME wild.acme-dns.test.

        """;

    private static string DelegatedZone(bool lagging) => $"""
        $TTL 60
        @ IN SOA ns1.acme-dns.test. hostmaster.acme-dns.test. 1 3600 600 86400 60
        @ IN NS ns1.acme-dns.test.
        ns1 IN A {Primary}
        {(lagging ? $"@ IN NS ns2.acme-dns.test.\nns2 IN A {Lagging}\n" : "")}
        """;

    private static string Spec(Uri directory, string keyFile, int propagationTimeout = 60) => $$$"""
        apiVersion: hawser/v1
        acme:
          directory: "{{{directory}}}"
          dns01: {tsigKeyFile: "{{{keyFile}}}", propagationTimeout: {{{propagationTimeout}}}}
        nodes:
          web1: {labels: {role: web}}
          web2: {labels: {role: web}}
          web3: {labels: {role: web}}
        profiles:
          web:
            selector: {role: web}
            certificates:
              - name: www
                domains: [www.example.test, "*.example.test"]
                challenge: dns-01
                install:
                  - {format: pem-pair, cert: /etc/ssl/hawser/www.crt, key: /etc/ssl/hawser/www.key}
        """;

    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    /// <summary>
    /// The DNS and ACME world of one test: BIND's namespace (joined to the runner's by a veth), the primary
    /// with both zones, a lagging second server when asked, the two resolvers, Pebble, and a controller.
    /// </summary>
    private sealed class DnsWorld : IAsyncDisposable
    {
        private readonly List<IDisposable> _owned = [];

        public BindServer Bind { get; private set; } = null!;

        public PebbleServer Pebble { get; private set; } = null!;

        public TempDirectory Data { get; } = new();

        public ControllerProcess Controller { get; private set; } = null!;

        public static async Task<DnsWorld> StartAsync(bool lagging)
        {
            var world = new DnsWorld();
            try
            {
                var ns = await NetworkNamespace.CreateAsync("dns");
                world._owned.Add(ns);
                await ns.LinkToRunnerAsync("10.68.0.201/29", Primary + "/29", Lagging + "/29", Resolver + "/29", CaResolver + "/29");
                var zone = DelegatedZone(lagging);
                world.Bind = await BindServer.StartAsync(ns, Primary, ("example.test", ParentZone, false), ("acme-dns.test", zone, true));
                world._owned.Add(world.Bind);
                if (lagging)
                {
                    world._owned.Add(await BindServer.StartAsync(ns, Lagging, ("acme-dns.test", zone, false)));
                }
                world._owned.Add(await BindServer.StartResolverAsync(ns, Resolver, ("example.test", Primary), ("acme-dns.test", Primary)));
                world._owned.Add(await BindServer.StartResolverAsync(ns, CaResolver, ("example.test", Primary), ("acme-dns.test", Primary)));
                world.Pebble = await PebbleServer.StartAsync(dnsServer: $"{CaResolver}:53");
                world.Controller = await ControllerProcess.StartAsync(world.Data.Path,
                    extra: ["--acme-ca-file", world.Pebble.TlsCaFile, "--acme-resolver", $"{Resolver}:53"]);
                return world;
            }
            catch
            {
                await world.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Controller is not null)
            {
                await Controller.DisposeAsync();
            }
            if (Pebble is not null)
            {
                await Pebble.DisposeAsync();
            }
            foreach (var owned in Enumerable.Reverse(_owned))
            {
                owned.Dispose();
            }
            Data.Dispose();
        }
    }

    [TestMethod]
    public async Task A_wildcard_and_a_plain_name_are_issued_through_the_CNAME_delegation_and_installed_on_three_nodes()
    {
        await using var world = await DnsWorld.StartAsync(lagging: false);
        var (bind, pebble, data, controller) = (world.Bind, world.Pebble, world.Data, world.Controller);
        var hosts = Nodes.Select(_ => new AgentHost()).ToArray();
        var agents = new List<AgentProcess>();
        try
        {
            var token = await Ctl(controller, "token", "create", "--uses", "3", "-o", "json");
            var secret = JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!;
            for (var i = 0; i < Nodes.Length; i++)
            {
                hosts[i].WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
                agents.Add(AgentProcess.Start(hosts[i], Nodes[i], controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash));
            }
            foreach (var agent in agents)
            {
                await agent.WaitForAsync("connected to");
            }
            var spec = Path.Combine(data.Path, "spec.yaml");
            File.WriteAllText(spec, Spec(pebble.Directory, bind.KeyFile));

            // apply waits until every node reports the certificate installed (the controller orders it on its own).
            var apply = await Ctl(controller, "apply", "-f", spec, "--wait-timeout", "50s");

            Assert.AreEqual(0, apply.ExitCode, apply.Output + "\n" + string.Join("\n", controller.Log) + "\n" + agents[0].Output);
            var serials = new HashSet<string>();
            foreach (var host in hosts)
            {
                using var certificate = X509Certificate2.CreateFromPem(host.ReadFile("/etc/ssl/hawser/www.crt"));
                var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames().Order(StringComparer.Ordinal).ToArray();
                CollectionAssert.AreEqual(new[] { "*.example.test", "www.example.test" }, names);
                serials.Add(certificate.SerialNumber);
            }
            Assert.HasCount(1, serials, "the three nodes hold the same certificate");
            CollectionAssert.AreEqual(Array.Empty<string>(), await bind.TxtAsync("www.acme-dns.test"), "the record is removed after validation");
            CollectionAssert.AreEqual(Array.Empty<string>(), await bind.TxtAsync("wild.acme-dns.test"));
            StringAssert.Contains(bind.Log, "updating zone 'acme-dns.test/IN': adding an RR at 'www.acme-dns.test' TXT", "the record went into the delegated zone");
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
            foreach (var host in hosts)
            {
                host.Dispose();
            }
        }
    }

    [TestMethod]
    public async Task A_wrong_TSIG_key_is_refused_with_the_servers_answer_and_a_key_file_others_can_read_is_not_used()
    {
        await using var world = await DnsWorld.StartAsync(lagging: false);
        var (bind, pebble, data, controller) = (world.Bind, world.Pebble, world.Data, world.Controller);
        var wrongKey = Path.Combine(data.Path, "wrong.key");
        var generated = await ExternalProcess.RunAsync("tsig-keygen", ["-a", "hmac-sha256", BindServer.KeyName]);
        File.WriteAllText(wrongKey, generated.StandardOutput);
        File.SetUnixFileMode(wrongKey, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, Spec(pebble.Directory, wrongKey));
        Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);

        var refused = await Ctl(controller, "certs", "renew", "www");

        Assert.AreEqual(1, refused.ExitCode, refused.Output);
        // Pebble lists the wildcard's authorization or the plain name's first: either record's update is refused.
        StringAssert.Matches(refused.StandardError, new System.Text.RegularExpressions.Regex(
            $@"certificate 'www': the DNS server {Primary}:53 refused the update to add TXT (www|wild)\.acme-dns\.test in zone acme-dns\.test: NOTAUTH, TSIG BADSIG \(the server does not know key 'hawser-acme' with this secret\)"));
        CollectionAssert.AreEqual(Array.Empty<string>(), await bind.TxtAsync("www.acme-dns.test"));

        File.SetUnixFileMode(wrongKey, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var exposed = await Ctl(controller, "certs", "renew", "www");
        Assert.AreEqual(1, exposed.ExitCode, exposed.Output);
        StringAssert.Contains(exposed.StandardError, $"the TSIG key file {wrongKey} can be read by others (mode 604); make it readable by its owner only: chmod 600 {wrongKey}");
    }

    [TestMethod]
    public async Task A_zone_server_that_never_shows_the_record_times_out_naming_it_and_the_record_is_removed()
    {
        // ns2 is a second authoritative server with a copy that never takes the update (no transfer from the primary).
        await using var world = await DnsWorld.StartAsync(lagging: true);
        var (bind, pebble, data, controller) = (world.Bind, world.Pebble, world.Data, world.Controller);
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, Spec(pebble.Directory, bind.KeyFile, propagationTimeout: 3));
        Assert.AreEqual(0, (await Ctl(controller, "apply", "-f", spec, "--no-wait")).ExitCode);

        var timedOut = await Ctl(controller, "certs", "renew", "www");

        Assert.AreEqual(1, timedOut.ExitCode, timedOut.Output);
        StringAssert.Matches(timedOut.StandardError, new System.Text.RegularExpressions.Regex(
            $@"the TXT record at (www|wild)\.acme-dns\.test was not seen on every authoritative server of acme-dns\.test within 3 s, so the CA was not asked to validate: ns2\.acme-dns\.test \({Lagging}\): does not show it"));
        Assert.IsFalse(timedOut.StandardError.Contains($"ns1.acme-dns.test ({Primary})", StringComparison.Ordinal), "the primary showed it");
        CollectionAssert.AreEqual(Array.Empty<string>(), await bind.TxtAsync("www.acme-dns.test"), "the record is removed after the failure too");
        CollectionAssert.AreEqual(Array.Empty<string>(), await bind.TxtAsync("wild.acme-dns.test"));
        StringAssert.Contains(bind.Log, "deleting an RR at ");
    }
}
