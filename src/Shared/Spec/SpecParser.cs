using Hawser.Shared.Configuration;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec;

/// <summary>
/// Reads a spec from YAML and checks it, collecting every error with its file, line and column.
/// Alternative spellings are refused (a sysctl written with slashes, an IPv4 prefix where IPv6 is
/// meant) so that two entries can never fight over one setting.
/// </summary>
public static partial class SpecParser
{
    /// <summary>Parses and validates <paramref name="text"/>, read from <paramref name="fileName"/>.</summary>
    public static SpecParseResult Parse(string text, string fileName, SpecRules? rules = null)
    {
        rules ??= new SpecRules();
        var reader = new Reader(fileName, rules);
        if (text.Length > rules.MaxLength)
        {
            reader.Error(1, 1, $"the spec is {text.Length} characters; the limit is {rules.MaxLength}");
            return new SpecParseResult(null, reader.Errors);
        }
        if (!reader.Preflight(text))
        {
            return new SpecParseResult(null, reader.Errors);
        }
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            reader.Error(ex.Start, ex.InnerException?.Message ?? ex.Message);
            return new SpecParseResult(null, reader.Errors);
        }
        if (stream.Documents.Count == 0)
        {
            reader.Error(1, 1, $"the spec is empty; it needs at least 'apiVersion: {SpecDocument.CurrentApiVersion}' and 'nodes'");
            return new SpecParseResult(null, reader.Errors);
        }
        if (stream.Documents.Count != 1)
        {
            reader.Error(1, 1, $"a spec is one YAML document; this file has {stream.Documents.Count}");
            return new SpecParseResult(null, reader.Errors);
        }
        var spec = reader.ReadDocument(stream.Documents[0].RootNode);
        return reader.Errors.Count == 0 ? new SpecParseResult(spec, []) : new SpecParseResult(null, reader.Errors);
    }

    [GeneratedRegex(@"^[a-z0-9_*-]+(\.[a-z0-9_*-]+)+$")]
    private static partial Regex SysctlName();

    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$")]
    private static partial Regex NodeName();

    /// <summary>True when <paramref name="name"/> is a valid node name (1-63 letters, digits, '.', '_' or '-', starting with a letter or digit).</summary>
    public static bool IsValidNodeName(string name) => NodeName().IsMatch(name);

    [GeneratedRegex(@"^([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})$")]
    private static partial Regex AccountNamePattern();

    [GeneratedRegex(@"^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex HostName();

    /// <summary>Walks the YAML tree; each method reads one part of the spec and records what is wrong with it.</summary>
    private sealed class Reader(string file, SpecRules rules)
    {
        private static readonly string[] TopKeys = ["apiVersion", "acme", "nodes", "profiles"];
        private static readonly string[] BlockKeys = ["sysctls", "ufw", "ndpProxy", "docker", "certificates"];

        public List<SpecError> Errors { get; } = [];

        public void Error(int line, int column, string message) => Errors.Add(new SpecError(file, line, column, message));

        public void Error(Mark mark, string message) => Error((int)mark.Line, (int)mark.Column, message);

        public void Error(YamlNode node, string message) => Error(node.Start, message);

        /// <summary>
        /// Depth, control characters and anchors before the tree is built: a spec never needs anchors,
        /// and refusing them also refuses alias bombs before any expansion.
        /// </summary>
        public bool Preflight(string text)
        {
            if (YamlPreflight.Check(text, refuseAnchors: true) is { } problem)
            {
                Error(problem.Where, problem.Message);
                return false;
            }
            return true;
        }

        public SpecDocument? ReadDocument(YamlNode root)
        {
            if (Block(root, "the spec", TopKeys) is not { } top)
            {
                return null;
            }
            var apiVersion = Get(top, "apiVersion");
            if (apiVersion is null)
            {
                Error(top, $"apiVersion is missing; this build reads '{SpecDocument.CurrentApiVersion}'");
            }
            else if (Scalar(apiVersion, "apiVersion") is { } version && version != SpecDocument.CurrentApiVersion)
            {
                Error(apiVersion, $"apiVersion '{version}' is not supported; this build reads '{SpecDocument.CurrentApiVersion}'");
            }
            var profiles = new Dictionary<string, ProfileSpec>(StringComparer.Ordinal);
            if (Get(top, "profiles") is { } profilesNode && Mapping(profilesNode, "profiles") is { } profileMap)
            {
                foreach (var (key, value) in profileMap.Children)
                {
                    if (Scalar(key, "a profile name") is { } name && ReadProfile(value, $"profile '{name}'") is { } profile)
                    {
                        profiles[name] = profile;
                    }
                }
            }
            var nodes = new Dictionary<string, NodeSpec>(StringComparer.Ordinal);
            if (Get(top, "nodes") is not { } nodesNode)
            {
                Error(top, "nodes is missing: a spec names at least one node");
            }
            else if (Mapping(nodesNode, "nodes") is { } nodeMap)
            {
                foreach (var (key, value) in nodeMap.Children)
                {
                    if (Scalar(key, "a node name") is not { } name)
                    {
                        continue;
                    }
                    if (!NodeName().IsMatch(name))
                    {
                        Error(key, $"node name '{name}' must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
                    }
                    if (ReadNode(value, $"node '{name}'") is not { } node)
                    {
                        continue;
                    }
                    nodes[name] = node;
                    if (node.Blocks.IsEmpty && !profiles.Values.Any(p => p.Selects(node.Labels)))
                    {
                        Error(key, $"node '{name}' is matched by no profile and holds no blocks: it would manage nothing");
                    }
                }
            }
            AcmeSpec? acme = null;
            if (Get(top, "acme") is { } acmeNode && Block(acmeNode, "acme", "directory", "email", "statelessFallback", "preflight", "validationPort") is { } acmeMap)
            {
                var directory = RequiredString(acmeMap, "directory", "acme");
                if (directory is not null && (!Uri.TryCreate(directory, UriKind.Absolute, out var uri) || uri.Scheme != "https"))
                {
                    Error(Get(acmeMap, "directory")!, $"acme.directory '{directory}' must be an https:// URL");
                }
                else if (directory is not null)
                {
                    acme = new AcmeSpec
                    {
                        Directory = new Uri(directory),
                        Email = OptionalString(acmeMap, "email", "acme"),
                        StatelessFallback = OptionalBool(acmeMap, "statelessFallback", "acme") ?? true,
                        Preflight = OptionalBool(acmeMap, "preflight", "acme") ?? true,
                        ValidationPort = OptionalPort(acmeMap, "validationPort", "acme") ?? 80,
                    };
                }
            }
            return new SpecDocument { Acme = acme, Nodes = nodes, Profiles = profiles };
        }

        private NodeSpec? ReadNode(YamlNode node, string what)
        {
            if (node is YamlScalarNode { Value: null or "" })
            {
                return new NodeSpec();
            }
            if (Block(node, what, ["labels", .. BlockKeys]) is not { } map)
            {
                return null;
            }
            return new NodeSpec
            {
                Labels = Get(map, "labels") is { } labels ? StringMap(labels, $"{what} labels") : new Dictionary<string, string>(),
                Blocks = ReadBlocks(map, what),
            };
        }

        private ProfileSpec? ReadProfile(YamlNode node, string what)
        {
            if (Block(node, what, ["selector", .. BlockKeys]) is not { } map)
            {
                return null;
            }
            var selector = Get(map, "selector") is { } s ? StringMap(s, $"{what} selector") : new Dictionary<string, string>();
            if (selector.Count == 0)
            {
                Error(map, $"{what} needs a selector with at least one label, e.g. selector: {{role: web}}");
            }
            return new ProfileSpec { Selector = selector, Blocks = ReadBlocks(map, what) };
        }

        private ResourceBlocks ReadBlocks(YamlMappingNode map, string what) => new()
        {
            Sysctls = Get(map, "sysctls") is { } sysctls ? ReadSysctls(sysctls, $"{what} sysctls") : null,
            Ufw = Get(map, "ufw") is { } ufw ? ReadUfw(ufw, $"{what} ufw") : null,
            NdpProxy = Get(map, "ndpProxy") is { } ndp ? ReadNdpProxy(ndp, $"{what} ndpProxy") : null,
            Docker = Get(map, "docker") is { } docker ? ReadDocker(docker, $"{what} docker") : null,
            Certificates = Get(map, "certificates") is { } certs ? ReadCertificates(certs, $"{what} certificates") : null,
        };

        private Dictionary<string, string> ReadSysctls(YamlNode node, string what)
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            if (Mapping(node, what) is not { } map)
            {
                return result;
            }
            foreach (var (key, value) in map.Children)
            {
                if (Scalar(key, "a sysctl name") is not { } name)
                {
                    continue;
                }
                if (name.Contains('/', StringComparison.Ordinal))
                {
                    Error(key, $"sysctl '{name}' uses slashes; write it dotted ('{name.Trim('/').Replace('/', '.')}') so one key has one spelling");
                }
                else if (!SysctlName().IsMatch(name) || name.Contains("..", StringComparison.Ordinal))
                {
                    Error(key, $"sysctl '{name}' is not a dotted name of [a-z0-9_*-] segments");
                }
                if (Scalar(value, $"sysctl '{name}'") is not { } setting)
                {
                    continue;
                }
                if (setting.Length == 0 || setting.Contains('\n', StringComparison.Ordinal) || setting.Contains('\r', StringComparison.Ordinal))
                {
                    Error(value, $"sysctl '{name}' needs a one-line, non-empty value");
                    continue;
                }
                result[name] = setting;
            }
            return result;
        }

        private UfwSpec? ReadUfw(YamlNode node, string what)
        {
            if (Block(node, what, "forwardPolicy") is not { } map)
            {
                return null;
            }
            var policy = RequiredString(map, "forwardPolicy", what);
            if (policy is not null && policy is not ("ACCEPT" or "DROP" or "REJECT"))
            {
                Error(Get(map, "forwardPolicy")!, $"{what} forwardPolicy '{policy}' must be ACCEPT, DROP or REJECT");
                return null;
            }
            return policy is null ? null : new UfwSpec { ForwardPolicy = policy };
        }

        private NdpProxySpec? ReadNdpProxy(YamlNode node, string what)
        {
            if (Block(node, what, "interface", "mode", "rules", "addresses") is not { } map)
            {
                return null;
            }
            var iface = RequiredString(map, "interface", what);
            if (iface is not null && (iface.Length is 0 or > 15 || iface.Any(c => char.IsWhiteSpace(c) || c == '/')))
            {
                Error(Get(map, "interface")!, $"{what} interface '{iface}' is not a Linux interface name (1-15 characters, no '/' or spaces)");
            }
            var mode = OptionalString(map, "mode", what) ?? "ndppd";
            if (mode is not ("ndppd" or "kernel"))
            {
                Error(Get(map, "mode")!, $"{what} mode '{mode}' must be ndppd or kernel");
            }
            var rules = new List<NdpRuleSpec>();
            foreach (var item in Sequence(map, "rules", what))
            {
                if (Block(item, $"{what} rule", "prefix", "method", "via") is not { } rule)
                {
                    continue;
                }
                var method = OptionalString(rule, "method", $"{what} rule") ?? "static";
                if (method is not ("static" or "auto" or "iface"))
                {
                    Error(Get(rule, "method")!, $"{what} rule method '{method}' must be static, auto or iface");
                }
                var via = OptionalString(rule, "via", $"{what} rule");
                if ((method == "iface") != (via is not null))
                {
                    Error(rule, $"{what} rule: 'via: <interface>' goes with method iface, and only with it");
                }
                if (Get(rule, "prefix") is not { } prefixNode)
                {
                    Error(rule, $"{what} rule needs a prefix");
                }
                else if (Ipv6Network(prefixNode, $"{what} rule prefix") is { } prefix)
                {
                    rules.Add(new NdpRuleSpec { Prefix = prefix, Method = method, Via = via });
                }
            }
            var addresses = new List<IPAddress>();
            foreach (var item in Sequence(map, "addresses", what))
            {
                if (Scalar(item, $"{what} address") is not { } text)
                {
                    continue;
                }
                if (!IPAddress.TryParse(text, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6 || text.Contains('/', StringComparison.Ordinal))
                {
                    Error(item, $"{what} address '{text}' must be a single IPv6 address (kernel proxy entries are per /128)");
                    continue;
                }
                addresses.Add(address);
            }
            if (mode == "kernel" && rules.Count > 0)
            {
                Error(Get(map, "rules")!, $"{what} rules need ndppd; with mode kernel list single addresses under 'addresses'");
            }
            if (mode == "ndppd" && Get(map, "rules") is null && Get(map, "addresses") is null)
            {
                Error(map, $"{what} needs rules (for ndppd) or addresses (kernel proxy entries)");
            }
            return iface is null ? null : new NdpProxySpec { Interface = iface, Mode = mode, Rules = rules, Addresses = addresses };
        }

        private DockerSpec? ReadDocker(YamlNode node, string what)
        {
            if (Block(node, what, "daemon", "networks") is not { } map)
            {
                return null;
            }
            DockerDaemonSpec? daemon = null;
            if (Get(map, "daemon") is { } daemonNode
                && Block(daemonNode, $"{what} daemon", "ipv6", "fixedCidrV6", "ip6tables", "experimental", "defaultAddressPools") is { } daemonMap)
            {
                List<DockerAddressPoolSpec>? pools = null;
                if (Get(daemonMap, "defaultAddressPools") is not null)
                {
                    pools = [];
                    foreach (var poolNode in Sequence(daemonMap, "defaultAddressPools", $"{what} daemon"))
                    {
                        if (ReadAddressPool(poolNode, $"{what} daemon defaultAddressPools entry") is { } pool)
                        {
                            pools.Add(pool);
                        }
                    }
                }
                daemon = new DockerDaemonSpec
                {
                    Ipv6 = OptionalBool(daemonMap, "ipv6", $"{what} daemon"),
                    FixedCidrV6 = Get(daemonMap, "fixedCidrV6") is { } cidr ? Ipv6Network(cidr, $"{what} daemon fixedCidrV6") : null,
                    Ip6tables = OptionalBool(daemonMap, "ip6tables", $"{what} daemon"),
                    Experimental = OptionalBool(daemonMap, "experimental", $"{what} daemon"),
                    DefaultAddressPools = pools,
                };
            }
            var networks = new List<DockerNetworkSpec>();
            foreach (var item in Sequence(map, "networks", what))
            {
                if (Block(item, $"{what} network", "name", "ipv6Subnet", "recreate") is not { } network)
                {
                    continue;
                }
                if (RequiredString(network, "name", $"{what} network") is { } name)
                {
                    networks.Add(new DockerNetworkSpec
                    {
                        Name = name,
                        Ipv6Subnet = Get(network, "ipv6Subnet") is { } subnet ? Ipv6Network(subnet, $"{what} network '{name}' ipv6Subnet") : null,
                        Recreate = OptionalBool(network, "recreate", $"{what} network '{name}'") ?? false,
                    });
                }
            }
            return new DockerSpec { Daemon = daemon, Networks = networks };
        }

        private DockerAddressPoolSpec? ReadAddressPool(YamlNode node, string what)
        {
            if (Block(node, what, "base", "size") is not { } map)
            {
                return null;
            }
            var text = RequiredString(map, "base", what);
            var sizeText = RequiredString(map, "size", what);
            if (text is null || sizeText is null)
            {
                return null;
            }
            if (!IPNetwork.TryParse(text, out var network) || !text.Contains('/', StringComparison.Ordinal))
            {
                Error(Get(map, "base")!, $"{what} base '{text}' is not a CIDR prefix");
                return null;
            }
            var max = network.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
            if (!int.TryParse(sizeText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size)
                || size < network.PrefixLength || size > max)
            {
                Error(Get(map, "size")!, $"{what} size '{sizeText}' must be a prefix length from {network.PrefixLength} to {max}");
                return null;
            }
            return new DockerAddressPoolSpec { Base = network, Size = size };
        }

        private bool? OptionalBool(YamlMappingNode map, string key, string what) =>
            Get(map, key) is { } node ? Bool(node, $"{what} {key}") : null;

        private int? OptionalPort(YamlMappingNode map, string key, string what)
        {
            if (OptionalString(map, key, what) is not { } text)
            {
                return null;
            }
            if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                Error(Get(map, key)!, $"{what} {key} '{text}' must be a port from 1 to 65535");
                return null;
            }
            return port;
        }

        private List<CertificateSpec> ReadCertificates(YamlNode node, string what)
        {
            var result = new List<CertificateSpec>();
            if (node is not YamlSequenceNode sequence)
            {
                Error(node, $"{what} must be a list");
                return result;
            }
            foreach (var item in sequence.Children)
            {
                if (Block(item, $"{what} entry", "name", "domains", "challenge", "keyType", "profile", "install", "reload", "source") is not { } map)
                {
                    continue;
                }
                var name = RequiredString(map, "name", $"{what} entry");
                var label = $"certificate '{name}'";
                if (name is not null && !NodeName().IsMatch(name))
                {
                    // It names files and directories (the agent keeps supplied material under it).
                    Error(Get(map, "name")!, $"{label}: a certificate name is 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
                }
                if (name is not null && result.Any(c => c.Name == name))

                {
                    Error(Get(map, "name")!, $"{label} is defined twice in {what}");
                }
                var challenge = OptionalString(map, "challenge", label) ?? "http-01";
                if (challenge != "http-01")
                {
                    Error(Get(map, "challenge")!, $"{label} challenge '{challenge}' is not supported; use http-01");
                }
                var keyType = OptionalString(map, "keyType", label) ?? "ecdsa-p256";
                if (keyType is not ("ecdsa-p256" or "rsa-2048"))
                {
                    Error(Get(map, "keyType")!, $"{label} keyType '{keyType}' is not one of ecdsa-p256, rsa-2048");
                }
                var profile = OptionalString(map, "profile", label);
                if (profile is not null && !NodeName().IsMatch(profile))
                {
                    Error(Get(map, "profile")!, $"{label} profile '{profile}' is not a CA profile name (1-63 letters, digits, '.', '_' or '-')");
                }
                var domains = new List<string>();
                var domainItems = Sequence(map, "domains", label).ToList();
                if (domainItems.Count == 0)
                {
                    Error(Get(map, "domains") ?? map, $"{label} needs at least one domain");
                }
                foreach (var domainNode in domainItems)
                {
                    if (Scalar(domainNode, $"{label} domain") is not { } domain)
                    {
                        continue;
                    }
                    if (!HostName().IsMatch(domain))
                    {
                        Error(domainNode, $"{label} domain '{domain}' is not a valid lower-case DNS name");
                    }
                    else if (domain.StartsWith("*.", StringComparison.Ordinal) && challenge == "http-01")
                    {
                        Error(domainNode, $"{label} domain '{domain}' is a wildcard; CAs issue wildcards only with dns-01, not http-01");
                    }
                    domains.Add(domain);
                }
                var installs = new List<CertificateInstallSpec>();
                foreach (var installNode in Sequence(map, "install", label))
                {
                    if (ReadInstall(installNode, $"{label} install") is { } install)
                    {
                        if (name is not null)
                        {
                            CheckCompanions(installNode, install, name, installs.Count, $"{label} install");
                        }
                        installs.Add(install);
                    }
                }
                var reload = Get(map, "reload") is { } reloadNode ? ReadReload(reloadNode, $"{label} reload") : null;
                CertificateSourceSpec? source = null;
                if (Get(map, "source") is { } sourceNode && Block(sourceNode, $"{label} source", "cert", "key") is { } sourceMap
                    && RequiredString(sourceMap, "cert", $"{label} source") is { } sourceCert
                    && RequiredString(sourceMap, "key", $"{label} source") is { } sourceKey)
                {
                    source = new CertificateSourceSpec { Cert = sourceCert, Key = sourceKey };
                }
                if (name is not null)
                {
                    result.Add(new CertificateSpec { Name = name, Domains = domains, Challenge = challenge, KeyType = keyType, Profile = profile, Install = installs, Reload = reload, Source = source });
                }
            }
            return result;
        }

        private CertificateInstallSpec? ReadInstall(YamlNode node, string what)
        {
            if (Block(node, what, "format", "cert", "key", "path", "owner", "group") is not { } map)
            {
                return null;
            }
            var format = RequiredString(map, "format", what);
            string[] needs = format switch
            {
                "pem-pair" => ["cert", "key"],
                "combined" or "haproxy" => ["path"],
                _ => [],
            };
            if (format is not (null or "pem-pair" or "combined" or "haproxy"))
            {
                Error(Get(map, "format")!, $"{what} format '{format}' must be pem-pair, combined or haproxy");
            }
            foreach (var key in needs)
            {
                if (Get(map, key) is null)
                {
                    Error(map, $"{what} format {format} needs '{key}'");
                }
            }
            return format is null ? null : new CertificateInstallSpec
            {
                Format = format,
                Cert = AllowedPath(map, "cert", what),
                Key = AllowedPath(map, "key", what),
                Path = AllowedPath(map, "path", what),
                Owner = AccountName(map, "owner", what),
                Group = AccountName(map, "group", what),
            };
        }

        private CertificateReloadSpec? ReadReload(YamlNode node, string what)
        {
            if (Block(node, what, "dockerSignal", "dockerExec", "command") is not { } map)
            {
                return null;
            }
            DockerSignalSpec? signal = null;
            if (Get(map, "dockerSignal") is { } signalNode && Block(signalNode, $"{what} dockerSignal", "container", "signal") is { } signalMap)
            {
                if (RequiredString(signalMap, "container", $"{what} dockerSignal") is { } container)
                {
                    signal = new DockerSignalSpec { Container = container, Signal = OptionalString(signalMap, "signal", $"{what} dockerSignal") ?? "HUP" };
                }
            }
            List<string>? command = null;
            if (Get(map, "command") is { } commandNode)
            {
                command = [.. Sequence(map, "command", what).Select(n => Scalar(n, $"{what} command argument")).OfType<string>()];
                if (command.Count == 0)
                {
                    Error(commandNode, $"{what} command must be a non-empty list of arguments (no shell)");
                }
                else if (!command[0].StartsWith('/'))
                {
                    Error(commandNode, $"{what} command '{command[0]}' must be an absolute path (no PATH lookup, no shell)");
                }
                else if (rules.AllowedCommands is { } allowed && !allowed.Contains(command[0], StringComparer.Ordinal))
                {
                    Error(commandNode, $"{what} command '{command[0]}' is not among the programs the agent may run "
                        + $"({(allowed.Count == 0 ? "none are allowed" : string.Join(", ", allowed))}); "
                        + "the host's agent config lists them under allowedCommands, by absolute path");
                }
            }
            DockerExecSpec? exec = null;
            if (Get(map, "dockerExec") is { } execNode && Block(execNode, $"{what} dockerExec", "container", "command") is { } execMap
                && RequiredString(execMap, "container", $"{what} dockerExec") is { } execContainer)
            {
                List<string> execCommand = [.. Sequence(execMap, "command", $"{what} dockerExec").Select(n => Scalar(n, $"{what} dockerExec command argument")).OfType<string>()];
                if (execCommand.Count == 0)
                {
                    Error(execMap, $"{what} dockerExec needs a non-empty command list, e.g. [nginx, -s, reload]");
                }
                exec = new DockerExecSpec { Container = execContainer, Command = execCommand };
            }
            return new CertificateReloadSpec { DockerSignal = signal, Command = command, DockerExec = exec };
        }

        private string? AccountName(YamlMappingNode map, string key, string what)
        {
            var name = OptionalString(map, key, what);
            if (name is not null && !AccountNamePattern().IsMatch(name))
            {
                Error(Get(map, key)!, $"{what} {key} '{name}' is not a user or group name or a numeric id");
                return null;
            }
            return name;
        }

        /// <summary>A format's key file and pair store must be writable too, not only the paths the spec names.</summary>
        private void CheckCompanions(YamlNode node, CertificateInstallSpec install, string certificate, int index, string what)
        {
            var named = new[] { install.Cert, install.Key, install.Path };
            if (named.Any(p => p is not null && !rules.AllowsWrite(p)))
            {
                return; // already reported
            }
            var created = install.Files.Where(f => !named.Contains(f)).ToList();
            if (install.StoreDirectory(certificate, index) is { } store)
            {
                created.Add(store);
            }
            foreach (var path in created.Where(p => !rules.AllowsWrite(p)))
            {
                Error(node, $"{what} format {install.Format} also creates '{path}', which is outside the paths the agent may write ({string.Join(", ", rules.AllowedPathPrefixes)})");
            }
        }

        private string? AllowedPath(YamlMappingNode map, string key, string what)
        {
            if (OptionalString(map, key, what) is not { } path)
            {
                return null;
            }
            var valueNode = Get(map, key)!;
            if (!path.StartsWith('/') || path.Split('/').Any(segment => segment is "." or "..") || path.Contains('\0', StringComparison.Ordinal))
            {
                Error(valueNode, $"{what} {key} '{path}' must be an absolute path without '.' or '..' segments");
                return null;
            }
            if (SpecRules.ReservedPrefixes.Any(reserved => path.StartsWith(reserved, StringComparison.Ordinal)))
            {
                Error(valueNode, $"{what} {key} '{path}' is inside the agent's own directories ({string.Join(", ", SpecRules.ReservedPrefixes)}), which a spec never writes");
                return null;
            }
            if (!rules.AllowsWrite(path))
            {
                Error(valueNode, $"{what} {key} '{path}' is outside the paths the agent may write ({string.Join(", ", rules.AllowedPathPrefixes)})");
                return null;
            }
            return path;
        }

        private IPNetwork? Ipv6Network(YamlNode node, string what)
        {
            if (Scalar(node, what) is not { } text)
            {
                return null;
            }
            var slash = text.IndexOf('/', StringComparison.Ordinal);
            // IPNetwork.TryParse masks host bits away; a prefix written with them is a typo we refuse.
            if (slash < 0 || !IPNetwork.TryParse(text, out var network)
                || !IPAddress.TryParse(text.AsSpan(0, slash), out var written) || !written.Equals(network.BaseAddress))
            {
                Error(node, $"{what} '{text}' is not a CIDR prefix with its host bits zero (e.g. 2001:db8:10:6::/80)");
                return null;
            }
            if (network.BaseAddress.AddressFamily != AddressFamily.InterNetworkV6)
            {
                Error(node, $"{what} '{text}' is IPv4; an IPv6 prefix is needed here");
                return null;
            }
            return network;
        }

        private bool? Bool(YamlNode node, string what) => Scalar(node, what) switch
        {
            "true" => true,
            "false" => false,
            null => null,
            var other => ErrorAndNull(node, $"{what} '{other}' must be true or false"),
        };

        private bool? ErrorAndNull(YamlNode node, string message)
        {
            Error(node, message);
            return null;
        }

        private Dictionary<string, string> StringMap(YamlNode node, string what)
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            if (Mapping(node, what) is not { } map)
            {
                return result;
            }
            foreach (var (key, value) in map.Children)
            {
                if (Scalar(key, $"a key of {what}") is { } k && Scalar(value, $"{what} '{k}'") is { } v)
                {
                    result[k] = v;
                }
            }
            return result;
        }

        private IEnumerable<YamlNode> Sequence(YamlMappingNode map, string key, string what)
        {
            if (Get(map, key) is not { } node)
            {
                return [];
            }
            if (node is YamlSequenceNode sequence)
            {
                return sequence.Children;
            }
            Error(node, $"{what} {key} must be a list");
            return [];
        }

        private string? RequiredString(YamlMappingNode map, string key, string what)
        {
            if (Get(map, key) is not { } node)
            {
                Error(map, $"{what} needs '{key}'");
                return null;
            }
            return Scalar(node, $"{what} {key}");
        }

        private string? OptionalString(YamlMappingNode map, string key, string what) =>
            Get(map, key) is { } node ? Scalar(node, $"{what} {key}") : null;

        /// <summary>A mapping whose keys are all among <paramref name="keys"/>; unknown ones are reported.</summary>
        private YamlMappingNode? Block(YamlNode node, string what, params string[] keys)
        {
            var map = Mapping(node, what);
            if (map is not null)
            {
                CheckKeys(map, what, keys);
            }
            return map;
        }

        private YamlMappingNode? Mapping(YamlNode node, string what)
        {
            if (node is YamlMappingNode map)
            {
                return map;
            }
            Error(node, $"{what} must be a mapping (key: value)");
            return null;
        }

        private string? Scalar(YamlNode node, string what)
        {
            if (node is YamlScalarNode scalar)
            {
                return scalar.Value ?? string.Empty;
            }
            Error(node, $"{what} must be a single value, not a {(node is YamlMappingNode ? "mapping" : "list")}");
            return null;
        }

        private static YamlNode? Get(YamlMappingNode map, string key) =>
            map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

        private void CheckKeys(YamlMappingNode map, string what, params string[] allowed)
        {
            foreach (var key in map.Children.Keys)
            {
                if (key is YamlScalarNode { Value: { } name } && !allowed.Contains(name, StringComparer.Ordinal))
                {
                    Error(key, $"unknown key '{name}' in {what}; expected one of: {string.Join(", ", allowed)}");
                }
            }
        }
    }
}
