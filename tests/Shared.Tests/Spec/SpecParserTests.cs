using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.Agent;
using Hawser.Shared.Spec.Kinds.Certificates;
using Hawser.Shared.Spec.Kinds.Docker;
using Hawser.Shared.Spec.Kinds.NdpProxy;
using Hawser.Shared.Spec.Kinds.Sysctls;
using Hawser.Shared.Spec.Kinds.Ufw;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Spec;

/// <summary>The spec format: the examples read back, and every kind of bad input is named with its place.</summary>
[TestClass]
public sealed class SpecParserTests
{
    private const string Header = "apiVersion: hawser/v1\n";

    private static SpecParseResult Parse(string yaml) => SpecParser.Parse(yaml, "spec.yaml");

    private static SpecError SingleError(string yaml)
    {
        var result = Parse(yaml);
        Assert.IsFalse(result.IsValid, "expected the spec to be refused");
        Assert.IsNull(result.Spec, "a refused spec yields nothing to apply");
        return result.Errors.Single();
    }

    [TestMethod]
    [DataRow("web1\n")]
    [DataRow("web1\r\n")]
    [DataRow("\nweb1")]
    public void A_name_with_a_line_end_is_no_node_name(string name)
    {
        // A final line feed once passed ^...$ (which matches before it): a second "web1" row, and removing web1 removed the real one.
        Assert.IsFalse(SpecParser.IsValidNodeName(name));
        Assert.IsTrue(SpecParser.IsValidNodeName("web1"));
    }

    [TestMethod]
    public void Opam_example_reads_back()
    {
        var path = Path.Combine(RepoPaths.Root, "examples", "opam.yaml");
        var result = SpecParser.Parse(File.ReadAllText(path), path);

        Assert.IsTrue(result.IsValid, string.Join("\n", result.Errors));
        var spec = result.Spec!;
        CollectionAssert.AreEquivalent(new[] { "web1", "web2" }, spec.Nodes.Keys.ToArray());
        var web = spec.Profiles["web"];
        Assert.AreEqual("bbr", web.Blocks.Sysctls!["net.ipv4.tcp_congestion_control"]);
        var certificate = web.Blocks.Certificates!.Single();
        CollectionAssert.AreEqual(new[] { "opam.example.org", "www.opam.example.org" }, certificate.Domains.ToArray());
        Assert.AreEqual("/etc/hitch/www.pem", certificate.Install[1].Path);
        Assert.AreEqual("nginx", certificate.Reload!.DockerSignal!.Container);
        Assert.AreEqual("https://acme-v02.api.letsencrypt.org/directory", spec.Acme!.Directory.ToString());
    }

    [TestMethod]
    public void Bee2_example_reads_back()
    {
        var path = Path.Combine(RepoPaths.Root, "examples", "bee2-ipv6.yaml");
        var result = SpecParser.Parse(File.ReadAllText(path), path);

        Assert.IsTrue(result.IsValid, string.Join("\n", result.Errors));
        var bee2 = result.Spec!.Nodes["bee2"].Blocks;
        Assert.AreEqual("2001:db8:10:6::/80", bee2.NdpProxy!.Rules.Single().Prefix.ToString());
        Assert.AreEqual("2001:db8:10:6:0:1::/96", bee2.Docker!.Daemon!.FixedCidrV6.ToString());
        Assert.IsTrue(bee2.Docker!.Daemon!.Ipv6);
        Assert.AreEqual("web", bee2.Docker!.Networks.Single().Name);
        var lb = result.Spec.Nodes["bee2-lb"].Blocks.NdpProxy!;
        Assert.AreEqual("kernel", lb.Mode);
        Assert.AreEqual("2001:db8:10:6:0:2:0:a", lb.Addresses.Single().ToString());
        Assert.AreEqual("ACCEPT", result.Spec.Profiles["docker-hosts"].Blocks.Ufw!.ForwardPolicy);
    }

    [TestMethod]
    [DataRow("net..ipv4.x", "not a dotted name")]
    [DataRow("net/ipv4/tcp_congestion_control", "uses slashes; write it dotted ('net.ipv4.tcp_congestion_control')")]
    [DataRow("Net.IPv4.x", "not a dotted name")]
    [DataRow("kernel", "not a dotted name")]
    public void Sysctl_names_have_one_spelling(string name, string reason)
    {
        var error = SingleError(Header + $"nodes:\n  web1:\n    sysctls:\n      {name}: \"1\"\n");

        Assert.AreEqual(5, error.Line);
        Assert.AreEqual(7, error.Column);
        StringAssert.Contains(error.Message, reason);
        StringAssert.StartsWith(error.ToString(), "spec.yaml:5:7: ");
    }

    [TestMethod]
    [DataRow("agent: {version: \"\"}", "version '' is not a release version like 1.4.0")]
    [DataRow("agent: {version: latest}", "version 'latest' is not a release version like 1.4.0")]
    [DataRow("agent: {version: \"1.4\"}", "version '1.4' is not a release version like 1.4.0")]
    [DataRow("agent: {}", "needs 'version'")]
    [DataRow("agent:", "must be a mapping")]
    [DataRow("agent: {version: 1.4.0, channel: stable}", "channel")]
    public void An_agent_block_names_one_release_version(string block, string reason)
    {
        var result = Parse(Header + $"nodes:\n  web1:\n    {block}\n");
        Assert.IsFalse(result.IsValid);
        // The block's own error, on its line (the node, left with no block, is named too).
        var error = result.Errors[0];
        Assert.AreEqual(4, error.Line, string.Join("\n", result.Errors));
        StringAssert.Contains(error.Message, reason);
    }

    [TestMethod]
    public void An_agent_release_version_is_read()
    {
        var result = Parse(Header + "nodes:\n  web1:\n    agent: {version: 1.4.0-rc1}\n");

        Assert.IsTrue(result.IsValid, string.Join("\n", result.Errors));
        Assert.AreEqual("1.4.0-rc1", result.Spec!.Nodes["web1"].Blocks.Agent!.Version);
    }

    [TestMethod]
    public void Sysctl_value_with_a_newline_is_refused()
    {
        var error = SingleError(Header + "nodes:\n  web1:\n    sysctls:\n      net.ipv4.x: \"1\\nkernel.y = 2\"\n");

        StringAssert.Contains(error.Message, "one-line");
        Assert.AreEqual(5, error.Line);
    }

    [TestMethod]
    [DataRow("\"2001:db8::/300\"", "not a CIDR")]
    [DataRow("\"2001:db8::1/64\"", "host bits zero")]
    [DataRow("\"10.0.0.0/24\"", "is IPv4; an IPv6 prefix is needed")]
    [DataRow("\"2001:db8::\"", "not a CIDR")]
    public void Prefixes_must_be_IPv6_CIDRs(string prefix, string reason)
    {
        var error = SingleError(Header + $"nodes:\n  h:\n    docker:\n      daemon: {{ipv6: true, fixedCidrV6: {prefix}}}\n");

        StringAssert.Contains(error.Message, reason);
        StringAssert.Contains(error.Message, "fixedCidrV6");
        Assert.AreEqual(5, error.Line);
    }

    [TestMethod]
    public void Unknown_keys_are_named_with_what_was_expected()
    {
        var error = SingleError(Header + "nodes:\n  web1:\n    ufw: {forwardPolicy: ACCEPT, fowardPolicy: DROP}\n");

        StringAssert.Contains(error.Message, "unknown key 'fowardPolicy'");
        StringAssert.Contains(error.Message, "expected one of: forwardPolicy");
        Assert.AreEqual(4, error.Line);
    }

    [TestMethod]
    [DataRow("/etc/shadow")]
    [DataRow("/etc/nginx/../shadow")]
    [DataRow("certs/www.pem")]
    public void Paths_outside_the_allowed_prefixes_are_refused(string path)
    {
        var error = SingleError(Header + $"nodes:\n  w:\n    certificates:\n      - name: www\n        domains: [www.example.org]\n        install:\n          - {{format: combined, path: \"{path}\"}}\n");

        StringAssert.Contains(error.Message, path);
        Assert.AreEqual(8, error.Line);
    }

    [TestMethod]
    [DataRow("keyType: rsa-4096", "certificate 'www' keyType 'rsa-4096' is not one of ecdsa-p256, rsa-2048", 6)]
    [DataRow("profile: \"short lived\"", "certificate 'www' profile 'short lived' is not a CA profile name", 6)]
    public void Certificate_key_types_and_profiles_are_checked_with_their_line(string line, string message, int lineNumber)
    {
        var error = SingleError(Header + $"nodes:\n  w:\n    certificates:\n      - name: www\n        {line}\n        domains: [www.example.org]\n        install: [{{format: combined, path: /etc/ssl/hawser/www.pem}}]\n");

        StringAssert.Contains(error.Message, message);
        Assert.AreEqual(lineNumber, error.Line);
    }

    [TestMethod]
    [DataRow("{connect: \"127.0.0.1\"}", "install verify connect '127.0.0.1' is not HOST:PORT (e.g. 127.0.0.1:443, [::1]:8443)")]
    [DataRow("{connect: \"127.0.0.1:70000\"}", "install verify connect '127.0.0.1:70000' is not HOST:PORT")]
    [DataRow("{connect: \"[::1]:443\", sni: \"*.example.org\"}", "install verify sni '*.example.org' is not a lower-case DNS name (no wildcard)")]
    [DataRow("{connect: \"127.0.0.1:443\", port: 443}", "port")]
    [DataRow("maybe", "install verify must be {connect: HOST:PORT, sni: NAME} or false")]
    public void A_served_check_is_checked_with_its_line(string verify, string message)
    {
        var error = SingleError(Header + $"nodes:\n  w:\n    certificates:\n      - name: www\n        domains: [www.example.org]\n        install:\n          - {{format: combined, path: /etc/ssl/hawser/www.pem, verify: {verify}}}\n");

        StringAssert.Contains(error.Message, message);
        Assert.AreEqual(8, error.Line);
    }

    [TestMethod]
    [DataRow("acme: {directory: \"https://a.example/dir\", issuers: [{directory: \"https://b.example/dir\"}]}", "acme has both directory and issuers", 2)]
    [DataRow("acme: {email: ops@example.org}", "acme needs a directory (the CA's directory URL), or issuers", 2)]
    [DataRow("acme:\n  issuers:\n    - {directory: \"http://a.example/dir\"}", "acme.issuers[1] directory 'http://a.example/dir' must be an https:// URL", 4)]
    [DataRow("acme:\n  issuers:\n    - directory: \"https://a.example/dir\"\n      eab: {kid: k1, hmacKeyFile: keys/zerossl.hmac}", "acme.issuers[1] eab hmacKeyFile 'keys/zerossl.hmac' must be an absolute path", 5)]
    public void Issuers_are_checked_with_their_line(string acme, string message, int line)
    {
        var error = SingleError(Header + acme + "\nnodes:\n  w: {ufw: {forwardPolicy: ACCEPT}}\n");

        StringAssert.Contains(error.Message, message);
        Assert.AreEqual(line, error.Line);
    }

    [TestMethod]
    public void A_single_directory_is_one_issuer_and_issuers_keep_their_order_and_binding()
    {
        var single = Parse(Header + "acme: {directory: \"https://a.example/dir\"}\nnodes:\n  w: {ufw: {forwardPolicy: ACCEPT}}\n").Spec!.Acme!;
        Assert.AreEqual(new AcmeIssuerSpec { Directory = new Uri("https://a.example/dir") }, single.Issuers.Single());
        var two = Parse(Header + "acme:\n  issuers:\n    - {directory: \"https://a.example/dir\"}\n    - {directory: \"https://b.example/dir\", eab: {kid: k1, hmacKeyFile: /etc/hawser/b.hmac}}\nnodes:\n  w: {ufw: {forwardPolicy: ACCEPT}}\n").Spec!.Acme!;
        Assert.AreEqual(new Uri("https://a.example/dir"), two.Directory, "the first is the directory older code reads");
        Assert.AreEqual(new AcmeEabSpec { Kid = "k1", HmacKeyFile = "/etc/hawser/b.hmac" }, two.Issuers[1].Eab);
        Assert.AreEqual(two, Parse(Header + "acme:\n  issuers:\n    - {directory: \"https://a.example/dir\"}\n    - {directory: \"https://b.example/dir\", eab: {kid: k1, hmacKeyFile: /etc/hawser/b.hmac}}\nnodes:\n  w: {ufw: {forwardPolicy: ACCEPT}}\n").Spec!.Acme,
            "equal settings are equal (a scoped operator's apply compares them)");
    }

    [TestMethod]
    public void A_served_check_is_read_written_and_read_back_alike()
    {
        var yaml = Header + "nodes:\n  w:\n    certificates:\n      - name: www\n        domains: [\"*.example.org\"]\n        challenge: dns-01\n        install:\n"
            + "          - {format: combined, path: /etc/ssl/hawser/a.pem, verify: {connect: \"[::1]:8443\", sni: www.example.org}}\n"
            + "          - {format: combined, path: /etc/ssl/hawser/b.pem, verify: false}\n"
            + "          - {format: combined, path: /etc/ssl/hawser/c.pem}\n";
        var installs = Parse(yaml).Spec!.Nodes["w"].Blocks.Certificates!.Single().Install;

        Assert.AreEqual(new CertificateVerifySpec { Connect = "[::1]:8443", Sni = "www.example.org" }, installs[0].Verify);
        Assert.IsTrue(installs[1].Verify!.IsOff);
        Assert.IsNull(installs[2].Verify, "left out: the default");
        Assert.AreEqual("hawser-verify.example.org", CertificateVerifySpec.Default.ServerName(["*.example.org"]), "a wildcard's default name is one it covers");
        var written = SpecParser.Parse(SpecWriter.WriteNode("w", new Dictionary<string, string>(), Parse(yaml).Spec!.Nodes["w"].Blocks), "written.yaml");
        Assert.IsTrue(written.IsValid, string.Join("\n", written.Errors));
        CollectionAssert.AreEqual(installs.ToArray(), written.Spec!.Nodes["w"].Blocks.Certificates!.Single().Install.ToArray());
    }

    [TestMethod]
    public void Acme_validation_port_must_be_a_port_and_preflight_defaults_on()
    {
        var error = SingleError(Header + "acme: {directory: \"https://ca.example/dir\", validationPort: 70000}\nnodes:\n  w: {ufw: {forwardPolicy: ACCEPT}}\n");
        StringAssert.Contains(error.Message, "acme validationPort '70000' must be a port from 1 to 65535");
        Assert.AreEqual(2, error.Line);

        var spec = Parse(Header + "acme: {directory: \"https://ca.example/dir\"}\nnodes:\n  w: {ufw: {forwardPolicy: ACCEPT}}\n").Spec!;
        Assert.IsTrue(spec.Acme!.Preflight);
        Assert.AreEqual(80, spec.Acme.ValidationPort);
    }

    [TestMethod]
    public void Duplicate_node_names_are_refused_with_the_line()
    {
        var error = SingleError(Header + "nodes:\n  web1:\n    ufw: {forwardPolicy: ACCEPT}\n  web1:\n    ufw: {forwardPolicy: DROP}\n");

        StringAssert.Contains(error.Message, "Duplicate key");
        Assert.AreEqual(5, error.Line);
    }

    [TestMethod]
    public void Alias_bomb_is_refused_before_any_expansion()
    {
        var bomb = Header + "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
            "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nnodes: {h: {ufw: {forwardPolicy: [*e, *e]}}}\n";

        var error = SingleError(bomb);

        StringAssert.Contains(error.Message, "anchors");
        Assert.AreEqual(2, error.Line);
    }

    [TestMethod]
    [DataRow("[\"*.example.org\"]", "wildcard")]
    [DataRow("[\"exa mple.org\"]", "not a valid lower-case DNS name")]
    [DataRow("[]", "at least one domain")]
    public void Certificate_domains_are_checked(string domains, string reason)
    {
        var error = SingleError(Header + $"nodes:\n  w:\n    certificates:\n      - {{name: www, domains: {domains}}}\n");

        StringAssert.Contains(error.Message, reason);
    }

    [TestMethod]
    public void Node_with_nothing_to_manage_is_refused()
    {
        var error = SingleError(Header + "nodes:\n  lonely:\n    labels: {role: db}\nprofiles:\n  web:\n    selector: {role: web}\n    ufw: {forwardPolicy: ACCEPT}\n");

        StringAssert.Contains(error.Message, "node 'lonely' is matched by no profile and holds no blocks");
        Assert.AreEqual(3, error.Line);
    }

    [TestMethod]
    public void Every_error_is_reported_at_once()
    {
        var result = Parse("apiVersion: hawser/v2\nnodes:\n  w:\n    sysctls: {net/x: \"1\"}\n    ufw: {forwardPolicy: allow}\n    ndpProxy: {interface: ens3, rules: [{prefix: \"10.0.0.0/8\"}]}\n");

        Assert.IsNull(result.Spec);
        var lines = result.Errors.Select(e => e.Line).ToArray();
        CollectionAssert.AreEqual(new[] { 1, 4, 5, 6 }, lines, string.Join("\n", result.Errors));
    }

    [TestMethod]
    [DataRow("", "the spec is empty")]
    [DataRow("# only a comment\n", "the spec is empty")]
    [DataRow("apiVersion: hawser/v1\nnodes: {}\n---\napiVersion: hawser/v1\n", "one YAML document; this file has 2")]
    [DataRow("- just\n- a list\n", "must be a mapping")]
    [DataRow("apiVersion: hawser/v1\nnodes: [\n", "")]
    [DataRow("nodes: {h: {ufw: {forwardPolicy: ACCEPT}}}\n", "apiVersion is missing")]
    public void Malformed_documents_get_a_clear_error(string yaml, string reason)
    {
        var result = Parse(yaml);

        Assert.IsFalse(result.IsValid);
        Assert.IsNotEmpty(result.Errors);
        StringAssert.Contains(result.Errors[0].Message, reason);
        Assert.IsGreaterThanOrEqualTo(1, result.Errors[0].Line);
    }
}
