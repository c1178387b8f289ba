using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.Certificates;
using Hawser.Shared.Spec.Kinds.Sysctls;
using Hawser.Shared.Spec.Kinds.Ufw;

namespace Hawser.Shared.Tests.Spec;

/// <summary>A node's effective blocks: profiles by selector, node overrides, conflicts named.</summary>
[TestClass]
public sealed class SpecResolverTests
{
    private static SpecDocument Spec(string yaml)
    {
        var result = SpecParser.Parse("apiVersion: hawser/v1\n" + yaml, "spec.yaml", new SpecRules { AllowedCommands = ["/usr/bin/systemctl"] });
        Assert.IsTrue(result.IsValid, string.Join("\n", result.Errors));
        return result.Spec!;
    }

    [TestMethod]
    public void Node_overrides_profile_sysctls_key_by_key_and_keeps_the_rest()
    {
        var spec = Spec("""
            nodes:
              web1:
                labels: {role: web}
                sysctls: {net.ipv4.tcp_keepalive_time: "300"}
              web2:
                labels: {role: web}
            profiles:
              web:
                selector: {role: web}
                sysctls: {net.core.default_qdisc: fq, net.ipv4.tcp_keepalive_time: "600"}
                ufw: {forwardPolicy: ACCEPT}
            """);

        var web1 = SpecResolver.Resolve(spec, "web1");
        var web2 = SpecResolver.Resolve(spec, "web2");

        Assert.IsTrue(web1.IsValid);
        Assert.AreEqual("300", web1.Blocks.Sysctls!["net.ipv4.tcp_keepalive_time"], "the node's own value wins");
        Assert.AreEqual("fq", web1.Blocks.Sysctls!["net.core.default_qdisc"], "the profile's other keys stay");
        Assert.AreEqual("ACCEPT", web1.Blocks.Ufw!.ForwardPolicy);
        Assert.AreEqual("600", web2.Blocks.Sysctls!["net.ipv4.tcp_keepalive_time"]);
        CollectionAssert.AreEqual(new[] { "web" }, web1.Profiles.ToArray());
    }

    [TestMethod]
    public void Profiles_that_disagree_are_a_conflict_naming_both_unless_the_node_decides()
    {
        var spec = Spec("""
            nodes:
              web1: {labels: {role: web, zone: a}}
              web2:
                labels: {role: web, zone: a}
                sysctls: {net.ipv4.tcp_congestion_control: cubic}
                ufw: {forwardPolicy: DROP}
            profiles:
              web:
                selector: {role: web}
                sysctls: {net.ipv4.tcp_congestion_control: bbr}
                ufw: {forwardPolicy: ACCEPT}
              zone-a:
                selector: {zone: a}
                sysctls: {net.ipv4.tcp_congestion_control: cubic}
                ufw: {forwardPolicy: REJECT}
            """);

        var web1 = SpecResolver.Resolve(spec, "web1");
        var web2 = SpecResolver.Resolve(spec, "web2");

        Assert.HasCount(2, web1.Conflicts, string.Join("\n", web1.Conflicts));
        StringAssert.Contains(web1.Conflicts[0], "sysctl 'net.ipv4.tcp_congestion_control' is set differently by profiles 'web' and 'zone-a'");
        StringAssert.Contains(web1.Conflicts[1], "ufw is set differently by profiles 'web' and 'zone-a'");
        Assert.IsTrue(web2.IsValid, string.Join("\n", web2.Conflicts));
        Assert.AreEqual("cubic", web2.Blocks.Sysctls!["net.ipv4.tcp_congestion_control"]);
        Assert.AreEqual("DROP", web2.Blocks.Ufw!.ForwardPolicy);
    }

    [TestMethod]
    public void Identical_definitions_from_two_profiles_agree()
    {
        var spec = Spec("""
            nodes:
              web1: {labels: {role: web, zone: a}}
            profiles:
              a:
                selector: {role: web}
                certificates:
                  - {name: www, domains: [www.example.org], install: [{format: combined, path: /etc/hitch/www.pem}], reload: {command: [/usr/bin/systemctl, reload, hitch]}}
              b:
                selector: {zone: a}
                certificates:
                  - {name: www, domains: [www.example.org], install: [{format: combined, path: /etc/hitch/www.pem}], reload: {command: [/usr/bin/systemctl, reload, hitch]}}
            """);

        var web1 = SpecResolver.Resolve(spec, "web1");

        Assert.IsTrue(web1.IsValid, string.Join("\n", web1.Conflicts));
        Assert.AreEqual("www", web1.Blocks.Certificates!.Single().Name);
    }

    [TestMethod]
    public void Unknown_node_names_the_known_ones()
    {
        var spec = Spec("nodes:\n  web1: {ufw: {forwardPolicy: ACCEPT}}\n");

        var ex = Assert.ThrowsExactly<KeyNotFoundException>(() => SpecResolver.Resolve(spec, "web9"));

        StringAssert.Contains(ex.Message, "it has: web1");
    }
}
