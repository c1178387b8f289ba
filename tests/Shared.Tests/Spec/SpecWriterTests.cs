using Hawser.Shared.Spec;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Spec;

[TestClass]
public sealed class SpecWriterTests
{
    private static readonly SpecRules Rules = new() { AllowedCommands = ["/usr/sbin/nginx"] };

    private const string Rich = """
        apiVersion: hawser/v1
        nodes:
          web1:
            labels: {role: web, "zone": "a b"}
            sysctls: {net.ipv4.tcp_keepalive_time: "600", "net.ipv6.conf.*.proxy_ndp": "1"}
            ndpProxy:
              interface: ens3
              rules: [{prefix: "2001:db8:10:6::/80"}, {prefix: "2001:db8:10:7::/80", method: iface, via: eth1}]
              addresses: ["2001:db8:10:6:0:2:0:a"]
            docker:
              daemon: {ipv6: true, fixedCidrV6: "2001:db8:10:6:0:1::/96", ip6tables: false, defaultAddressPools: [{base: "10.68.0.0/24", size: 28}]}
              networks: [{name: web, ipv6Subnet: "2001:db8:10:6:0:2::/96", recreate: true}, {name: plain}]
        profiles:
          web:
            selector: {role: web}
            ufw: {forwardPolicy: ACCEPT}
            certificates:
              - name: www
                domains: [www.example.org, example.org]
                source: {cert: /etc/letsencrypt/live/x/fullchain.pem, key: "/etc/letsencrypt/live/x/privkey.pem"}
                install:
                  - {format: pem-pair, cert: /etc/nginx/certs/www.crt, key: /etc/nginx/certs/www.key, owner: www-data, group: "33"}
                  - {format: combined, path: /etc/hitch/www.pem}
                reload:
                  dockerSignal: {container: hitch, signal: HUP}
                  dockerExec: {container: nginx, command: [nginx, -s, reload]}
                  command: [/usr/sbin/nginx, -s, reload]
        """;

    private static ResolvedNode Resolve(string yaml, string node)
    {
        var parsed = SpecParser.Parse(yaml, "spec.yaml", Rules);
        Assert.IsTrue(parsed.IsValid, string.Join("\n", parsed.Errors));
        return SpecResolver.Resolve(parsed.Spec!, node);
    }

    [TestMethod]
    [DataRow(Rich, "web1")]
    [DataRow(null, "web1")]
    [DataRow(null, "bee2")]
    public void A_written_node_parses_back_to_the_same_blocks(string? yaml, string node)
    {
        yaml ??= File.ReadAllText(Path.Combine(RepoPaths.Root, "examples", node == "bee2" ? "bee2-ipv6.yaml" : "opam.yaml"));
        var resolved = Resolve(yaml, node);
        var spec = SpecParser.Parse(yaml, "spec.yaml", Rules).Spec!;

        var written = SpecWriter.WriteNode(node, spec.Nodes[node].Labels, resolved.Blocks);
        var again = Resolve(written, node);

        Assert.AreEqual(written, SpecWriter.WriteNode(node, spec.Nodes[node].Labels, again.Blocks), "writing what was read back gives the same text");
        Assert.IsEmpty(again.Profiles, "the written spec has the node's blocks only");
    }

    [TestMethod]
    public void A_written_node_holds_only_that_node()
    {
        var yaml = File.ReadAllText(Path.Combine(RepoPaths.Root, "examples", "bee2-ipv6.yaml"));
        var spec = SpecParser.Parse(yaml, "bee2-ipv6.yaml").Spec!;

        var written = SpecWriter.WriteNode("bee2-lb", spec.Nodes["bee2-lb"].Labels, SpecResolver.Resolve(spec, "bee2-lb").Blocks);

        Assert.DoesNotContain("bee2:", written);
        Assert.DoesNotContain("2001:db8:10:6::/80", written, "bee2's ndppd rule is not bee2-lb's business");
        StringAssert.Contains(written, "2001:db8:10:6:0:2:0:a");
        StringAssert.Contains(written, "net.ipv6.conf.all.forwarding: \"1\"");
    }
}
