using System.Globalization;
using System.Net;
using System.Net.Sockets;
using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec.Kinds.Docker;

/// <summary>Docker's IPv6 settings.</summary>
public sealed record DockerSpec
{
    /// <summary>Managed daemon.json keys.</summary>
    public DockerDaemonSpec? Daemon { get; init; }

    /// <summary>User-defined networks.</summary>
    public IReadOnlyList<DockerNetworkSpec> Networks { get; init; } = [];
}

/// <summary>daemon.json IPv6 keys.</summary>
public sealed record DockerDaemonSpec
{
    /// <summary><c>ipv6</c>.</summary>
    public bool? Ipv6 { get; init; }

    /// <summary><c>fixed-cidr-v6</c>.</summary>
    public IPNetwork? FixedCidrV6 { get; init; }

    /// <summary><c>ip6tables</c>.</summary>
    public bool? Ip6tables { get; init; }

    /// <summary><c>experimental</c>.</summary>
    public bool? Experimental { get; init; }

    /// <summary><c>default-address-pools</c>.</summary>
    public IReadOnlyList<DockerAddressPoolSpec>? DefaultAddressPools { get; init; }

    /// <summary>True when no key is set.</summary>
    public bool IsEmpty => Ipv6 is null && FixedCidrV6 is null && Ip6tables is null && Experimental is null && DefaultAddressPools is null;
}

/// <summary>One entry of <c>default-address-pools</c>.</summary>
public sealed record DockerAddressPoolSpec
{
    /// <summary>The pool networks are cut from.</summary>
    public required IPNetwork Base { get; init; }

    /// <summary>The prefix length of each network cut from it.</summary>
    public required int Size { get; init; }
}

/// <summary>A user-defined Docker network with an IPv6 subnet.</summary>
public sealed record DockerNetworkSpec
{
    /// <summary>The network's name.</summary>
    public required string Name { get; init; }

    /// <summary>Its IPv6 subnet.</summary>
    public IPNetwork? Ipv6Subnet { get; init; }

    /// <summary>Replace an existing network whose subnet differs, when no container is attached.</summary>
    public bool Recreate { get; init; }
}

/// <summary><c>docker</c>: daemon.json's IPv6 keys and IPv6 user networks, one unit.</summary>
public sealed class DockerKind : SpecKind<DockerSpec>
{
    /// <summary>The one instance the tables list.</summary>
    public static DockerKind Instance { get; } = new();

    /// <inheritdoc/>
    public override string Key => "docker";

    /// <inheritdoc/>
    public override DockerSpec? Read(YamlNode node, string what, SpecReader reader)
    {
        if (reader.Block(node, what, "daemon", "networks") is not { } map)
        {
            return null;
        }
        DockerDaemonSpec? daemon = null;
        if (SpecReader.Get(map, "daemon") is { } daemonNode
            && reader.Block(daemonNode, $"{what} daemon", "ipv6", "fixedCidrV6", "ip6tables", "experimental", "defaultAddressPools") is { } daemonMap)
        {
            List<DockerAddressPoolSpec>? pools = null;
            if (SpecReader.Get(daemonMap, "defaultAddressPools") is not null)
            {
                pools = [];
                foreach (var poolNode in reader.Sequence(daemonMap, "defaultAddressPools", $"{what} daemon"))
                {
                    if (ReadAddressPool(poolNode, $"{what} daemon defaultAddressPools entry", reader) is { } pool)
                    {
                        pools.Add(pool);
                    }
                }
            }
            daemon = new DockerDaemonSpec
            {
                Ipv6 = reader.OptionalBool(daemonMap, "ipv6", $"{what} daemon"),
                FixedCidrV6 = SpecReader.Get(daemonMap, "fixedCidrV6") is { } cidr ? reader.Ipv6Network(cidr, $"{what} daemon fixedCidrV6") : null,
                Ip6tables = reader.OptionalBool(daemonMap, "ip6tables", $"{what} daemon"),
                Experimental = reader.OptionalBool(daemonMap, "experimental", $"{what} daemon"),
                DefaultAddressPools = pools,
            };
        }
        var networks = new List<DockerNetworkSpec>();
        foreach (var item in reader.Sequence(map, "networks", what))
        {
            if (reader.Block(item, $"{what} network", "name", "ipv6Subnet", "recreate") is not { } network)
            {
                continue;
            }
            if (reader.RequiredString(network, "name", $"{what} network") is { } name)
            {
                networks.Add(new DockerNetworkSpec
                {
                    Name = name,
                    Ipv6Subnet = SpecReader.Get(network, "ipv6Subnet") is { } subnet ? reader.Ipv6Network(subnet, $"{what} network '{name}' ipv6Subnet") : null,
                    Recreate = reader.OptionalBool(network, "recreate", $"{what} network '{name}'") ?? false,
                });
            }
        }
        return new DockerSpec { Daemon = daemon, Networks = networks };
    }

    private static DockerAddressPoolSpec? ReadAddressPool(YamlNode node, string what, SpecReader reader)
    {
        if (reader.Block(node, what, "base", "size") is not { } map)
        {
            return null;
        }
        var text = reader.RequiredString(map, "base", what);
        var sizeText = reader.RequiredString(map, "size", what);
        if (text is null || sizeText is null)
        {
            return null;
        }
        if (!IPNetwork.TryParse(text, out var network) || !text.Contains('/', StringComparison.Ordinal))
        {
            reader.Error(SpecReader.Get(map, "base")!, $"{what} base '{text}' is not a CIDR prefix");
            return null;
        }
        var max = network.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        if (!int.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            || size < network.PrefixLength || size > max)
        {
            reader.Error(SpecReader.Get(map, "size")!, $"{what} size '{sizeText}' must be a prefix length from {network.PrefixLength} to {max}");
            return null;
        }
        return new DockerAddressPoolSpec { Base = network, Size = size };
    }

    /// <inheritdoc/>
    public override DockerSpec? Merge(IReadOnlyList<(string Profile, DockerSpec Block)> fromProfiles, DockerSpec? fromNode, List<string> conflicts) =>
        SpecMerge.Whole(fromProfiles, fromNode, Key, conflicts, Same);

    // Records with list members compare lists by reference; this compares them by content.
    private static bool Same(DockerSpec a, DockerSpec b) =>
        (a.Daemon, b.Daemon) switch
        {
            (null, null) => true,
            ({ } x, { } y) => x with { DefaultAddressPools = null } == y with { DefaultAddressPools = null }
                && SpecMerge.SameList(x.DefaultAddressPools, y.DefaultAddressPools),
            _ => false,
        } && a.Networks.SequenceEqual(b.Networks);

    /// <inheritdoc/>
    public override YamlNode Write(DockerSpec block)
    {
        var dockerMap = new YamlMappingNode();
        if (block.Daemon is { } daemon)
        {
            var daemonMap = new YamlMappingNode();
            SpecYaml.AddIf(daemonMap, "ipv6", SpecYaml.Bool(daemon.Ipv6));
            SpecYaml.AddIf(daemonMap, "fixedCidrV6", daemon.FixedCidrV6?.ToString());
            SpecYaml.AddIf(daemonMap, "ip6tables", SpecYaml.Bool(daemon.Ip6tables));
            SpecYaml.AddIf(daemonMap, "experimental", SpecYaml.Bool(daemon.Experimental));
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
        if (block.Networks.Count > 0)
        {
            dockerMap.Add("networks", new YamlSequenceNode(block.Networks.Select(n =>
            {
                var network = new YamlMappingNode { { "name", n.Name } };
                SpecYaml.AddIf(network, "ipv6Subnet", n.Ipv6Subnet?.ToString());
                SpecYaml.AddIf(network, "recreate", n.Recreate ? "true" : null);
                return (YamlNode)network;
            })));
        }
        return dockerMap;
    }
}

/// <summary>The docker block of a node.</summary>
public static class DockerBlocks
{
    extension(ResourceBlocks blocks)
    {
        /// <summary>Docker's IPv6 settings; null when not set.</summary>
        public DockerSpec? Docker => blocks.Get(DockerKind.Instance);
    }
}
