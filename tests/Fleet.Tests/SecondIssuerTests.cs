using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Issue 27: a second CA when the first fails. Two real Pebbles: the first down, the second requiring an external
/// account binding. The certificate comes from the second and says so; with the first back, the next order goes to it.
/// </summary>
[TestClass]
public sealed class SecondIssuerTests
{
    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    private static async Task<JsonElement> CertificateAsync(ControllerProcess controller) =>
        JsonDocument.Parse((await Ctl(controller, "certs", "-o", "json")).StandardOutput).RootElement.GetProperty("certificates")[0];

    private static int Orders(PebbleServer pebble) => pebble.Log.Split('\n').Count(l => l.Contains("Added order", StringComparison.Ordinal));

    [TestMethod]
    public async Task An_order_the_first_CA_cannot_take_goes_to_the_second_with_its_binding_and_comes_back_to_the_first()
    {
        const string domain = "issuers.rr-fleet.test";
        const string address = "127.0.4.83";
        await using var first = await PebbleServer.StartAsync();
        await using var second = await PebbleServer.StartAsync(requireAccountBinding: true);
        await first.StopCaAsync();
        foreach (var pebble in new[] { first, second })
        {
            await pebble.SetAddressesAsync(domain, address);
        }
        using var data = new TempDirectory();
        var roots = Path.Combine(data.Path, "acme-roots.pem");
        File.WriteAllText(roots, File.ReadAllText(first.TlsCaFile).Trim() + "\n" + File.ReadAllText(second.TlsCaFile).Trim() + "\n");
        var hmacFile = Path.Combine(data.Path, "second-ca.hmac");
        File.WriteAllText(hmacFile, second.AccountBindingKeys["kid-1"] + "\n");
        File.SetUnixFileMode(hmacFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: ["--acme-ca-file", roots, "--acme-resolver", first.DnsServer]);
        using var host = new AgentHost();
        await using var agent = await AgentProcess.StartAnsweringHttp01Async(controller, host, "web1", address);
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, $$$"""
            apiVersion: hawser/v1
            acme:
              issuers:
                - directory: "{{{first.Directory}}}"
                - directory: "{{{second.Directory}}}"
                  eab: {kid: kid-1, hmacKeyFile: {{{hmacFile}}}}
              validationPort: {{{PebbleServer.HttpChallengePort}}}
            nodes:
              web1:
                certificates:
                  - name: www
                    domains: [{{{domain}}}]
                    install: [{format: pem-pair, cert: /etc/ssl/hawser/www.crt, key: /etc/ssl/hawser/www.key, verify: false}]
            """);
        var applied = await Ctl(controller, "apply", "-f", spec, "--no-wait");
        Assert.AreEqual(0, applied.ExitCode, applied.Output);

        // The first CA cannot be reached: the second, which needs the binding, issues it, and the certificate says so.
        JsonElement certificate = default;
        Assert.IsTrue(await Poll.UntilAsync(async () => (certificate = await CertificateAsync(controller)).GetProperty("serial").ValueKind == JsonValueKind.String,
            TimeSpan.FromSeconds(90)), $"issued: {certificate}\n" + string.Join("\n", controller.Log));
        Assert.AreEqual(second.Directory.ToString(), certificate.GetProperty("issuer").GetString());
        Assert.AreEqual(1, Orders(second), second.Log);
        var issued = JsonDocument.Parse((await Ctl(controller, "events", "--kind", "certificate.issued", "-o", "json")).StandardOutput).RootElement.GetProperty("events");
        StringAssert.Contains(issued[0].GetProperty("summary").GetString(), $"by {second.Directory}");
        Assert.IsTrue(await Poll.UntilAsync(() => File.Exists(host.PathOf("/etc/ssl/hawser/www.crt")), TimeSpan.FromSeconds(60)), agent.Output);

        // The first is back: the next order goes to it.
        await first.StartCaAsync();
        var renewed = await Ctl(controller, "certs", "renew", "www");
        Assert.AreEqual(0, renewed.ExitCode, renewed.Output);
        certificate = await CertificateAsync(controller);
        Assert.AreEqual(first.Directory.ToString(), certificate.GetProperty("issuer").GetString());
        Assert.AreEqual(1, Orders(first), first.Log);
        Assert.AreEqual(1, Orders(second), "the second CA got no further order");
    }
}
