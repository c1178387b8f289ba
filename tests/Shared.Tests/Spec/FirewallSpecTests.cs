using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.Firewall;

namespace Hawser.Shared.Tests.Spec;

/// <summary>The firewall block: its rules read and checked with their place, merged by traffic, written back.</summary>
[TestClass]
public sealed class FirewallSpecTests
{
    private static SpecParseResult Parse(string yaml) => SpecParser.Parse("apiVersion: hawser/v1\n" + yaml, "spec.yaml");

    [TestMethod]
    public void A_rule_reads_with_defaults_a_rule_to_an_address_is_routed_and_one_to_any_is_for_the_host()
    {
        var result = Parse("""
            nodes:
              bee2:
                firewall:
                  rules:
                    - {allow: tcp, port: [443, 80], to: "2001:DB8:1:2:0::80", from: any}
                    - {limit: tcp, port: 22, from: "2001:db8::/64"}
                    - {deny: udp, to: "2001:db8:1:2::80", routed: false}
            """);

        Assert.IsTrue(result.IsValid, string.Join("\n", result.Errors));
        var rules = result.Spec!.Nodes["bee2"].Blocks.Firewall!.Rules;
        Assert.AreEqual(new FirewallRuleSpec { Action = "allow", Protocol = "tcp", To = "2001:db8:1:2::80", Routed = true }, rules[0] with { Ports = [] });
        CollectionAssert.AreEqual(new[] { 80, 443 }, rules[0].Ports.ToArray(), "ports ascending");
        Assert.AreEqual("limit", rules[1].Action);
        Assert.AreEqual("2001:db8::/64", rules[1].From);
        Assert.IsFalse(rules[1].Routed, "a rule to any address is for the host");
        Assert.IsFalse(rules[2].Routed, "routed: false wins");
        Assert.AreEqual(0, rules[2].Ports.Count);
    }

    [TestMethod]
    public void Every_bad_rule_is_named_with_its_line_and_column()
    {
        var result = Parse("""
            nodes:
              bee2:
                firewall:
                  rules:
                    - {allow: tcp, deny: tcp, port: 80}
                    - {allow: icmp}
                    - {allow: any, port: [80, 443]}
                    - {allow: tcp, port: 70000}
                    - {allow: tcp, from: "10.0.0.0/8", to: "2001:db8::1"}
                    - {allow: tcp, to: "2001:db8::1/64"}
                    - {allow: tcp, port: 80}
                    - {allow: tcp, port: [80]}
                    - {allow: tcp, prot: 80}
            """);

        Assert.IsFalse(result.IsValid);
        var errors = result.Errors.Select(e => e.ToString()).ToList();
        CollectionAssert.AreEqual(new[]
        {
            "spec.yaml:6:11: node 'bee2' firewall rule 1 needs exactly one of allow, deny or limit, with the protocol as its value (allow: tcp)",
            "spec.yaml:7:19: node 'bee2' firewall rule 2 allow 'icmp' must be a protocol: tcp, udp or any",
            "spec.yaml:8:30: node 'bee2' firewall rule 3 lists several ports; ufw needs tcp or udp for that (allow: tcp)",
            "spec.yaml:9:30: node 'bee2' firewall rule 4 port '70000' must be a port from 1 to 65535",
            "spec.yaml:10:11: node 'bee2' firewall rule 5 goes from 10.0.0.0/8 to 2001:db8::1: one is IPv4, the other IPv6",
            "spec.yaml:11:28: node 'bee2' firewall rule 6 to '2001:db8::1/64' must be any, an IP address or a prefix with its host bits zero (2001:db8:1:2::/64)",
            "spec.yaml:13:11: node 'bee2' firewall rule 8 is about the same traffic as rule 7 (tcp port 80 from any to any); keep one",
            "spec.yaml:14:24: unknown key 'prot' in node 'bee2' firewall rule 9; expected one of: allow, deny, limit, port, from, to, routed",
        }, errors, string.Join("\n", errors));
    }

    [TestMethod]
    public void Rules_merge_by_traffic_the_node_deciding_and_two_profiles_disagreeing_is_a_conflict()
    {
        var spec = Parse("""
            nodes:
              web1: {labels: {role: web, dc: a}, firewall: {rules: [{deny: tcp, port: 8080}]}}
              web2: {labels: {role: web, dc: b}}
            profiles:
              web:
                selector: {role: web}
                firewall: {rules: [{allow: tcp, port: [80, 443]}, {allow: tcp, port: 8080}]}
              dc-b:
                selector: {dc: b}
                firewall: {rules: [{limit: tcp, port: 8080}, {allow: tcp, port: 22}]}
            """).Spec!;

        var web1 = SpecResolver.Resolve(spec, "web1");
        var web2 = SpecResolver.Resolve(spec, "web2");

        Assert.IsTrue(web1.IsValid, string.Join("\n", web1.Conflicts));
        CollectionAssert.AreEqual(new[] { "allow tcp port 80,443 from any to any", "deny tcp port 8080 from any to any" },
            web1.Blocks.Firewall!.Rules.Select(r => $"{r.Action} {r.Traffic}").ToArray(), "the node's rule replaces the profile's in place");
        CollectionAssert.AreEqual(new[] { "firewall rule for 'tcp port 8080 from any to any' is set differently by profiles 'dc-b' and 'web'; set it on the node to decide" },
            web2.Conflicts.ToArray());
    }

    [TestMethod]
    public void The_node_text_reads_back_to_the_same_rules()
    {
        var spec = Parse("""
            nodes:
              bee2:
                firewall: {rules: [{allow: tcp, port: [80, 443], to: "2001:db8:1:2::80"}, {deny: any, from: "192.0.2.0/24"}]}
            """).Spec!;
        var blocks = SpecResolver.Resolve(spec, "bee2").Blocks;

        var text = SpecWriter.WriteNode("bee2", new Dictionary<string, string>(), blocks);
        var again = SpecParser.Parse(text, "node.yaml");

        Assert.IsTrue(again.IsValid, string.Join("\n", again.Errors) + "\n" + text);
        var before = blocks.Firewall!.Rules;
        var after = again.Spec!.Nodes["bee2"].Blocks.Firewall!.Rules;
        Assert.AreEqual(before.Count, after.Count);
        Assert.IsTrue(before.Zip(after).All(p => p.First.SameAs(p.Second)), text);
    }
}
