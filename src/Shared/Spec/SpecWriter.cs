using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec;

/// <summary>
/// Writes one node's resolved blocks as a spec of its own: what the controller sends an agent, so a
/// node receives only its own desired state and the agent checks it with the same parser (and its
/// own allowed paths) as a local spec.
/// </summary>
public static class SpecWriter
{
    /// <summary>A spec holding only <paramref name="node"/>, with its labels and resolved blocks at node level.</summary>
    public static string WriteNode(string node, IReadOnlyDictionary<string, string> labels, ResourceBlocks blocks)
    {
        var nodeMap = new YamlMappingNode();
        if (labels.Count > 0)
        {
            nodeMap.Add("labels", Map(labels));
        }
        AddBlocks(nodeMap, blocks);
        var root = new YamlMappingNode
        {
            { "apiVersion", SpecDocument.CurrentApiVersion },
            { "nodes", new YamlMappingNode { { node, nodeMap } } },
        };
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        // YamlStream ends a document with "...", which a single-document spec does not need.
        return writer.ToString().Replace("\n...\n", "\n", StringComparison.Ordinal);
    }

    private static void AddBlocks(YamlMappingNode map, ResourceBlocks blocks)
    {
        if (blocks.Sysctls is { } sysctls)
        {
            map.Add("sysctls", Map(sysctls));
        }
        if (blocks.Ufw is { } ufw)
        {
            map.Add("ufw", new YamlMappingNode { { "forwardPolicy", ufw.ForwardPolicy } });
        }
        if (blocks.NdpProxy is { } ndp)
        {
            var ndpMap = new YamlMappingNode { { "interface", ndp.Interface }, { "mode", ndp.Mode } };
            if (ndp.Rules.Count > 0)
            {
                ndpMap.Add("rules", new YamlSequenceNode(ndp.Rules.Select(r =>
                {
                    var rule = new YamlMappingNode { { "prefix", r.Prefix.ToString() }, { "method", r.Method } };
                    AddIf(rule, "via", r.Via);
                    return (YamlNode)rule;
                })));
            }
            if (ndp.Addresses.Count > 0)
            {
                ndpMap.Add("addresses", Sequence(ndp.Addresses.Select(a => a.ToString())));
            }
            map.Add("ndpProxy", ndpMap);
        }
        if (blocks.Docker is { } docker)
        {
            var dockerMap = new YamlMappingNode();
            if (docker.Daemon is { } daemon)
            {
                var daemonMap = new YamlMappingNode();
                AddIf(daemonMap, "ipv6", Bool(daemon.Ipv6));
                AddIf(daemonMap, "fixedCidrV6", daemon.FixedCidrV6?.ToString());
                AddIf(daemonMap, "ip6tables", Bool(daemon.Ip6tables));
                AddIf(daemonMap, "experimental", Bool(daemon.Experimental));
                if (daemon.DefaultAddressPools is { } pools)
                {
                    daemonMap.Add("defaultAddressPools", new YamlSequenceNode(pools.Select(p => (YamlNode)new YamlMappingNode
                    {
                        { "base", p.Base.ToString() },
                        { "size", p.Size.ToString(CultureInfo.InvariantCulture) },
                    })));
                }
                dockerMap.Add("daemon", daemonMap);
            }
            if (docker.Networks.Count > 0)
            {
                dockerMap.Add("networks", new YamlSequenceNode(docker.Networks.Select(n =>
                {
                    var network = new YamlMappingNode { { "name", n.Name } };
                    AddIf(network, "ipv6Subnet", n.Ipv6Subnet?.ToString());
                    AddIf(network, "recreate", n.Recreate ? "true" : null);
                    return (YamlNode)network;
                })));
            }
            map.Add("docker", dockerMap);
        }
        if (blocks.Certificates is { } certificates)
        {
            map.Add("certificates", new YamlSequenceNode(certificates.Select(Certificate)));
        }
    }

    private static YamlNode Certificate(CertificateSpec certificate)
    {
        var map = new YamlMappingNode
        {
            { "name", certificate.Name },
            { "domains", Sequence(certificate.Domains) },
            { "challenge", certificate.Challenge },
        };
        if (certificate.Source is { } source)
        {
            map.Add("source", new YamlMappingNode { { "cert", source.Cert }, { "key", source.Key } });
        }
        if (certificate.Install.Count > 0)
        {
            map.Add("install", new YamlSequenceNode(certificate.Install.Select(i =>
            {
                var install = new YamlMappingNode { { "format", i.Format } };
                AddIf(install, "cert", i.Cert);
                AddIf(install, "key", i.Key);
                AddIf(install, "path", i.Path);
                AddIf(install, "owner", i.Owner);
                AddIf(install, "group", i.Group);
                return (YamlNode)install;
            })));
        }
        if (certificate.Reload is { } reload)
        {
            var reloadMap = new YamlMappingNode();
            if (reload.DockerSignal is { } signal)
            {
                reloadMap.Add("dockerSignal", new YamlMappingNode { { "container", signal.Container }, { "signal", signal.Signal } });
            }
            if (reload.DockerExec is { } exec)
            {
                reloadMap.Add("dockerExec", new YamlMappingNode { { "container", exec.Container }, { "command", Sequence(exec.Command) } });
            }
            if (reload.Command is { } command)
            {
                reloadMap.Add("command", Sequence(command));
            }
            map.Add("reload", reloadMap);
        }
        return map;
    }

    private static YamlMappingNode Map(IReadOnlyDictionary<string, string> values)
    {
        var map = new YamlMappingNode();
        foreach (var (key, value) in values.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            map.Add(key, new YamlScalarNode(value) { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted });
        }
        return map;
    }

    private static YamlSequenceNode Sequence(IEnumerable<string> values) => new(values.Select(v => (YamlNode)new YamlScalarNode(v)));

    private static void AddIf(YamlMappingNode map, string key, string? value)
    {
        if (value is not null)
        {
            map.Add(key, value);
        }
    }

    private static string? Bool(bool? value) => value switch { true => "true", false => "false", null => null };
}
