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

    private static readonly ServedNode[] Nodes =
    [
        new("web1", TlsServerKind.Nginx, "10.68.0.161/30", "10.68.0.162", "127.0.4.71"),
        new("web2", TlsServerKind.HAProxy, "10.68.0.165/30", "10.68.0.166", "127.0.4.72"),
        new("web3", TlsServerKind.Hitch, "10.68.0.169/30", "10.68.0.170", "127.0.4.73"),
    ];

    private static readonly string[] Names = [.. Nodes.Select(n => n.Name)];

    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) => ServedFleet.CtlAsync(controller, arguments);

    /// <summary>Waits until hawserctl shows every node's server serving <paramref name="serial"/> and no node failing it.</summary>
    private static async Task WaitAllServedAsync(ServedFleet fleet, string serial)
    {
        JsonElement certificate = default;
        var done = await Poll.UntilAsync(async () =>
        {
            certificate = await fleet.CertificateAsync();
            var served = ServedFleet.Served(certificate);
            return Names.All(n => served.GetValueOrDefault(n) == serial) && !certificate.GetProperty("nodeErrors").EnumerateObject().Any();
        }, TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(500));
        Assert.IsTrue(done, $"every node's server serves {serial}: {certificate}\n{fleet.Diagnostics()}");
    }

    [TestMethod]
    public async Task Each_server_serves_the_new_serial_a_broken_reload_fails_the_node_with_both_serials_and_mending_it_clears_that()
    {
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.SetAddressesAsync(Domain, [.. Nodes.Select(n => n.Challenge)]);
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer]);
        // Each host already serves a certificate from elsewhere, as a host does before Hawser manages it.
        await using var fleet = await ServedFleet.StartAsync(controller, Domain, data.Path, Nodes);
        var servers = fleet.Servers;
        var before = await servers[0].ServedSerialAsync(Domain);
        Assert.IsNotNull(before);

        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, fleet.Spec(pebble.Directory, Domain));
        var applied = await Ctl(controller, "apply", "-f", spec, "--no-wait");
        Assert.AreEqual(0, applied.ExitCode, applied.Output);

        // Installed, reloaded, and really served: hawserctl says so, and each server's own answer agrees.
        await Poll.UntilAsync(async () => (await fleet.CertificateAsync()).GetProperty("serial").ValueKind == JsonValueKind.String, TimeSpan.FromSeconds(120));
        var first = (await fleet.CertificateAsync()).GetProperty("serial").GetString()!;
        Assert.AreNotEqual(before, first);
        await WaitAllServedAsync(fleet, first);
        foreach (var server in servers)
        {
            Assert.AreEqual(first, await server.ServedSerialAsync(Domain), $"{server.Kind} serves the certificate Hawser installed");
        }
        var listing = await Ctl(controller, "certs");
        foreach (var node in Names)
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
            broken = await fleet.CertificateAsync();
            second = broken.GetProperty("serial").GetString()!;
            var errors = broken.GetProperty("nodeErrors");
            return second != first && Names.All(n => errors.TryGetProperty(n, out _)) && ServedFleet.Served(broken).Values.All(s => s == first);
        }, TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(500)), $"every node failed, its server still serving {first}: {broken}\n{fleet.Diagnostics()}");
        string Abbreviated(string serial) => serial[..12] + "…";
        foreach (var node in Names)
        {
            var error = broken.GetProperty("nodeErrors").GetProperty(node).GetString()!;
            StringAssert.Contains(error, $"serves {Abbreviated(first)}", $"{node} names the serial served");
            StringAssert.Contains(error, Abbreviated(second), $"{node} names the serial installed");
            Assert.AreEqual(second, broken.GetProperty("installed").GetProperty(node).GetString());
        }
        StringAssert.Contains(broken.GetProperty("nodeErrors").GetProperty("web1").GetString()!, "the reload failed");
        StringAssert.Contains(broken.GetProperty("nodeErrors").GetProperty("web3").GetString()!,
            $"/etc/hitch/www.pem installed {Abbreviated(second)}, 10.68.0.170:443 serves {Abbreviated(first)} (not reloaded?)");
        foreach (var server in servers)
        {
            Assert.AreEqual(first, await server.ServedSerialAsync(Domain), $"{server.Kind} still serves the old certificate");
        }
        var text = await Ctl(controller, "certs");
        StringAssert.Contains(text.StandardOutput, $"web3 serves {Abbreviated(first)} (installed {Abbreviated(second)})", text.Output);
        StringAssert.Contains(text.StandardOutput, "www on web3: /etc/hitch/www.pem installed", text.Output);
        var events = JsonDocument.Parse((await Ctl(controller, "events", "--kind", "certificate.not-served", "-o", "json")).StandardOutput).RootElement;
        var notServed = events.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("node").GetString()).ToHashSet();
        CollectionAssert.AreEquivalent(Names, notServed.ToArray(), events.ToString());

        // Mended: the next converge reloads, every server serves the new serial, and no node is failed.
        foreach (var server in servers)
        {
            server.MendReload();
        }
        await WaitAllServedAsync(fleet, second);
        foreach (var server in servers)
        {
            Assert.AreEqual(second, await server.ServedSerialAsync(Domain), $"{server.Kind} serves the renewed certificate");
        }
        var status = JsonDocument.Parse((await Ctl(controller, "status", "-o", "json")).StandardOutput).RootElement.GetProperty("nodes");
        Assert.IsTrue(status.EnumerateArray().All(n => n.GetProperty("state").GetString() == "in-sync"), status.ToString());

        // The web UI's certificates page reads the same words.
        var pki = Path.Combine(data.Path, "pki");
        using var pem = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(Path.Combine(pki, "admin.crt"), Path.Combine(pki, "admin.key"));
        using var admin = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(
            pem.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
        using var browser = await WebSignInClient.SignInAsync(controller, admin, System.Net.IPAddress.Loopback);
        Assert.IsNotNull(browser.Csrf, browser.Refusal);
        var web = JsonDocument.Parse(await browser.Client.GetStringAsync("/api/v1/certificates")).RootElement[0];
        foreach (var node in Names)
        {
            Assert.AreEqual("served", web.GetProperty("nodeStates").GetProperty(node).GetString(), web.ToString());
        }
        StringAssert.StartsWith(web.GetProperty("issuer").GetString(), pebble.Directory.ToString().Split("/dir")[0]);
        var metrics = string.Join("\n", (await MetricsAsync(controller)).Split('\n').Where(l => l.StartsWith("hawser_certificate_served_not_after_seconds{", StringComparison.Ordinal)));
        foreach (var node in Nodes)
        {
            StringAssert.Contains(metrics, $"certificate=\"www\",node=\"{node.Name}\",target=\"{node.Server}:443\"}} ", metrics);
        }
    }

    /// <summary>The controller's /metrics, read with its scrape token.</summary>
    private static async Task<string> MetricsAsync(ControllerProcess controller)
    {
        using var client = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, served, _, _) => controller.IsServedBy(served) });
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(controller.Address, "/metrics"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", File.ReadAllText(Path.Combine(controller.DataDirectory, "metrics-token")).Trim());
        using var response = await client.SendAsync(request);
        return await response.Content.ReadAsStringAsync();
    }
}
