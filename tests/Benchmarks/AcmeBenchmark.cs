using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Benchmarks;

/// <summary>
/// Whole-system, against Debian's Pebble (PEBBLE_VA_NOSLEEP=1): the time from ApplySpec of a spec
/// with a new certificate to that certificate installed on all three agents (real processes, each
/// answering HTTP-01 on its own loopback address), beside Debian's certbot getting one certificate
/// for one host from the same Pebble (<c>certbot certonly --standalone</c>). Round 1 of each includes
/// creating its ACME account; the median is of the later rounds.
/// </summary>
public static class AcmeBenchmark
{
    private static readonly string[] Addresses = ["127.0.5.1", "127.0.5.2", "127.0.5.3"];
    private const string CertbotAddress = "127.0.5.9";

    /// <summary>Runs <paramref name="rounds"/> rounds of each.</summary>
    public static async Task<int> RunAsync(int rounds)
    {
        await using var pebble = await PebbleServer.StartAsync(nonceRejectPercent: 0);
        using var data = new TempDirectory("hawser-bench-acme-");
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer]);
        using var admin = controller.Channel();
        var token = await new ControlService.ControlServiceClient(admin).CreateJoinTokenAsync(new CreateJoinTokenRequest { Uses = 3, TtlSeconds = 3600 });
        var hosts = Addresses.Select(_ => new AgentHost()).ToArray();
        var agents = new List<AgentProcess>();
        try
        {
            for (var i = 0; i < hosts.Length; i++)
            {
                hosts[i].WriteFile("/etc/hawser/agent.yaml", $"acmeChallenge: {{listen: \"{Addresses[i]}:{PebbleServer.HttpChallengePort}\"}}\n");
                // The default 1 s interval of the test harness; the certificate arrives by push, not by the tick.
                agents.Add(AgentProcess.Start(hosts[i], $"web{i + 1}", controller.Address, "--join-token", token.Token, "--ca-hash", controller.CaHash));
            }
            foreach (var agent in agents)
            {
                await agent.WaitForAsync("connected to");
            }
            var hawser = new List<double>();
            var certbot = new List<double>();
            using var certbotDirectory = new TempDirectory("hawser-bench-certbot-");
            for (var round = 1; round <= rounds; round++)
            {
                var domain = $"r{round}.bench-acme.test";
                await pebble.SetAddressesAsync(domain, [.. Addresses.Skip(round % 3), .. Addresses.Take(round % 3)]);
                var spec = $"apiVersion: hawser/v1\nacme: {{directory: \"{pebble.Directory}\", email: ops@example.org, validationPort: {PebbleServer.HttpChallengePort}}}\nnodes:\n" +
                    string.Concat(Enumerable.Range(1, 3).Select(n => $"  web{n}:\n    certificates:\n      - {{name: c{round}, domains: [{domain}], install: [{{format: combined, path: /etc/ssl/hawser/c{round}.pem}}]}}\n"));
                var clock = Stopwatch.StartNew();
                await new ControlService.ControlServiceClient(admin).ApplySpecAsync(new ApplySpecRequest { SpecYaml = spec, FileName = "bench.yaml" });
                foreach (var host in hosts)
                {
                    await WaitForCertificateAsync(host.PathOf($"/etc/ssl/hawser/c{round}.pem"), domain);
                }
                hawser.Add(clock.Elapsed.TotalMilliseconds);

                var certbotDomain = $"cb{round}.bench-acme.test";
                await pebble.SetAddressesAsync(certbotDomain, CertbotAddress);
                clock.Restart();
                var run = await ExternalProcess.RunAsync("certbot", ["certonly", "--standalone", "--non-interactive", "--agree-tos", "--register-unsafely-without-email",
                    "--server", pebble.Directory.ToString(), "--http-01-port", PebbleServer.HttpChallengePort.ToString(CultureInfo.InvariantCulture),
                    "--http-01-address", CertbotAddress, "-d", certbotDomain,
                    "--config-dir", Path.Join(certbotDirectory.Path, "config"), "--work-dir", Path.Join(certbotDirectory.Path, "work"), "--logs-dir", Path.Join(certbotDirectory.Path, "logs")],
                    TimeSpan.FromMinutes(2), environment: new Dictionary<string, string> { ["REQUESTS_CA_BUNDLE"] = pebble.TlsCaFile });
                certbot.Add(clock.Elapsed.TotalMilliseconds);
                if (run.ExitCode != 0)
                {
                    Console.Error.WriteLine($"certbot failed: {run.Output}");
                    return 1;
                }
                Console.WriteLine($"round {round}: hawser (3 hosts) {hawser[^1]:0} ms, certbot (1 host) {certbot[^1]:0} ms");
            }
            double Median(List<double> values) => values.Skip(1).Order().ElementAt((values.Count - 1) / 2);
            Console.WriteLine($"median of rounds 2-{rounds}: hawser_three_hosts_ms={Median(hawser):0} certbot_one_host_ms={Median(certbot):0} ratio={Median(certbot) / Median(hawser):0.00}");
            return 0;
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

    private static async Task WaitForCertificateAsync(string path, string domain)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(path))
            {
                using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(path));
                if (certificate.MatchesHostname(domain))
                {
                    return;
                }
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"{path} did not get a certificate for {domain} within 60 s");
    }
}
