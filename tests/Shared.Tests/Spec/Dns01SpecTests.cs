using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.Certificates;

namespace Hawser.Shared.Tests.Spec;

/// <summary>acme.dns01 and dns-01 certificates: read, checked with their place, and refused when they cannot work.</summary>
[TestClass]
public sealed class Dns01SpecTests
{
    private const string Certificate = """
        nodes:
          web1:
            certificates:
              - {name: www, domains: ["*.example.org", example.org], challenge: dns-01, install: [{format: combined, path: /etc/ssl/hawser/www.pem}]}
        """;

    private static SpecParseResult Parse(string yaml) => SpecParser.Parse("apiVersion: hawser/v1\n" + yaml, "spec.yaml", SpecRules.Controller);

    [TestMethod]
    public void A_wildcard_with_dns01_and_the_acme_settings_read_with_their_defaults()
    {
        var result = Parse("""
            acme:
              directory: https://ca.example/dir
              dns01: {tsigKeyFile: /etc/hawser-controller/acme.key, server: "192.0.2.53:5353"}
            """ + "\n" + Certificate);

        Assert.IsTrue(result.IsValid, string.Join("\n", result.Errors));
        var dns01 = result.Spec!.Acme!.Dns01!;
        Assert.AreEqual("/etc/hawser-controller/acme.key", dns01.TsigKeyFile);
        Assert.AreEqual("192.0.2.53:5353", dns01.Server);
        Assert.AreEqual(120, dns01.PropagationTimeoutSeconds);
        Assert.AreEqual("dns-01", result.Spec.Nodes["web1"].Blocks.Certificates!.Single().Challenge);
    }

    [TestMethod]
    public void Bad_dns01_settings_are_named_with_their_place()
    {
        var result = Parse("""
            acme:
              directory: https://ca.example/dir
              dns01: {tsigKeyFile: keys/acme.key, server: ns1.example.org, propagationTimeout: 0, zone: x}
            nodes:
              web1: {sysctls: {net.ipv4.tcp_keepalive_time: "600"}}
            """);

        CollectionAssert.AreEqual(new[]
        {
            "spec.yaml:4:87: unknown key 'zone' in acme.dns01; expected one of: tsigKeyFile, server, propagationTimeout",
            "spec.yaml:4:24: acme.dns01 tsigKeyFile 'keys/acme.key' must be an absolute path on the controller without '.' or '..' segments",
            "spec.yaml:4:47: acme.dns01 server 'ns1.example.org' must be an IP address, optionally with a port (192.0.2.53:53, [2001:db8::53]:53)",
            "spec.yaml:4:84: acme.dns01 propagationTimeout '0' must be a number of seconds from 1 to 3600",
        }, result.Errors.Select(e => e.ToString()).ToArray(), string.Join("\n", result.Errors));
    }

    [TestMethod]
    public void A_dns01_certificate_without_the_acme_dns01_settings_is_refused_at_the_acme_block()
    {
        var result = Parse("acme: {directory: \"https://ca.example/dir\"}\n" + Certificate);

        Assert.AreEqual(
            "spec.yaml:2:7: acme has no dns01 block, but certificate 'www' (node 'web1') uses dns-01: add acme.dns01 with tsigKeyFile, the key the controller updates the zone with",
            string.Join("\n", result.Errors));
        Assert.IsTrue(Parse(Certificate).IsValid, "a node's own desired state (no acme block) is not checked for it");
    }
}
