using System.Security.Cryptography.X509Certificates;
using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>
/// Issue 27 in local mode: after installing a certificate the agent reads back what the host's server serves. Debian's
/// nginx runs in a network namespace of its own on the files the agent installs; a server that missed its reload is
/// reloaded, and one whose reload cannot work fails the certificate naming both serials.
/// </summary>
[TestClass]
public sealed class ServedCertificateTests
{
    private const string Domain = "www.example.org";
    private const string Live = "/etc/letsencrypt/live/www";

    private static string Spec(TlsServer nginx) => $$$"""
        apiVersion: hawser/v1
        nodes:
          web1:
            certificates:
              - name: www
                domains: [{{{Domain}}}]
                source: {cert: {{{Live}}}/fullchain.pem, key: {{{Live}}}/privkey.pem}
                install:
                  - {format: pem-pair, cert: /etc/nginx/certs/www.crt, key: /etc/nginx/private/www.key, verify: {connect: "{{{nginx.Address}}}:443", sni: {{{Domain}}}}}
                reload: {command: [{{{string.Join(", ", nginx.ReloadCommand)}}}]}
        """;

    private static string SerialOf(string chain)
    {
        using var leaf = X509Certificate2.CreateFromPem(chain);
        return leaf.SerialNumber;
    }

    [TestMethod]
    public async Task The_installed_certificate_is_read_back_from_nginx_a_missed_reload_is_redone_and_a_broken_one_names_both_serials()
    {
        using var ca = new TestCertificates();
        using var host = new AgentHost();
        using var ns = await NetworkNamespace.CreateAsync("agtls");
        host.WriteFile("/etc/hawser/agent.yaml", "allowedCommands: [/bin/sh]\n");
        var before = ca.IssuePem(Domain);
        var nginx = await TlsServer.StartOnHostAsync(TlsServerKind.Nginx, host, ns, "10.68.0.181/30", "10.68.0.182", Path.Join(host.Root + "-nginx"), before.Chain, before.Key);
        var first = ca.IssuePem(Domain);
        host.WriteFile($"{Live}/fullchain.pem", first.Chain);
        host.WriteFile($"{Live}/privkey.pem", first.Key);
        var spec = host.WriteSpec(Spec(nginx));

        var installed = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(0, installed.ExitCode, installed.Output);
        StringAssert.Contains(installed.StandardOutput, $"served        certificate:www at 10.68.0.182:443: serial {SerialOf(first.Chain)}");
        Assert.AreEqual(SerialOf(first.Chain), await nginx.ServedSerialAsync(Domain));

        // nginx restarted with an old file in memory, as it were: put the old pair back under it and reload it by hand, then
        // restore the files. The next apply finds the files right, nginx serving the old serial, and reloads it.
        var certFile = host.PathOf("/etc/nginx/certs/.hawser-www-0/current/cert.pem");
        var keyFile = host.PathOf("/etc/nginx/certs/.hawser-www-0/current/key.pem");
        var (goodCert, goodKey) = (File.ReadAllText(certFile), File.ReadAllText(keyFile));
        File.WriteAllText(certFile, before.Chain.Trim() + "\n");
        File.WriteAllText(keyFile, before.Key.Trim() + "\n");
        Assert.AreEqual(0, (await ExternalProcess.RunAsync("/bin/sh", [nginx.ReloadCommand[1]])).ExitCode);
        Assert.IsTrue(await Poll.UntilAsync(async () => await nginx.ServedSerialAsync(Domain) == SerialOf(before.Chain), TimeSpan.FromSeconds(30)));
        File.WriteAllText(certFile, goodCert);
        File.WriteAllText(keyFile, goodKey);

        var redone = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(0, redone.ExitCode, redone.Output);
        StringAssert.Contains(redone.StandardOutput, $"served at 10.68.0.182:443: {SerialOf(before.Chain)[..12]}… -> {SerialOf(first.Chain)[..12]}…");
        Assert.AreEqual(SerialOf(first.Chain), await nginx.ServedSerialAsync(Domain));

        // A new certificate with nginx's config broken: installed, not served, and the failure says both.
        nginx.BreakReload();
        var second = ca.IssuePem(Domain);
        host.WriteFile($"{Live}/fullchain.pem", second.Chain);
        host.WriteFile($"{Live}/privkey.pem", second.Key);

        var broken = await host.ApplyAsync(spec, "web1");

        Assert.AreEqual(1, broken.ExitCode, broken.Output);
        StringAssert.Contains(broken.StandardOutput, "the reload failed");
        StringAssert.Contains(broken.StandardOutput, $"10.68.0.182:443 serves {SerialOf(first.Chain)[..12]}… (installed {SerialOf(second.Chain)[..12]}…)");
        Assert.AreEqual(SerialOf(first.Chain), await nginx.ServedSerialAsync(Domain));
    }
}
