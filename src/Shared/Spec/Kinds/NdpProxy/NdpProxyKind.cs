using System.Net;
using System.Net.Sockets;
using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec.Kinds.NdpProxy;

/// <summary>NDP proxying on one interface.</summary>
public sealed record NdpProxySpec
{
    /// <summary>The interface facing the provider's router.</summary>
    public required string Interface { get; init; }

    /// <summary><c>ndppd</c> (a daemon answering for prefixes) or <c>kernel</c> (proxy entries per address).</summary>
    public string Mode { get; init; } = "ndppd";

    /// <summary>ndppd rules.</summary>
    public IReadOnlyList<NdpRuleSpec> Rules { get; init; } = [];

    /// <summary>Single addresses answered by kernel proxy entries (in either mode).</summary>
    public IReadOnlyList<IPAddress> Addresses { get; init; } = [];
}

/// <summary>One ndppd rule.</summary>
public sealed record NdpRuleSpec
{
    /// <summary>The proxied IPv6 prefix.</summary>
    public required IPNetwork Prefix { get; init; }

    /// <summary><c>static</c>, <c>auto</c> or <c>iface</c>.</summary>
    public string Method { get; init; } = "static";

    /// <summary>The interface ndppd asks, for method <c>iface</c>.</summary>
    public string? Via { get; init; }
}

/// <summary><c>ndpProxy</c>: NDP proxying for a prefix the provider does not route, one unit.</summary>
public sealed class NdpProxyKind : SpecKind<NdpProxySpec>
{
    /// <summary>The one instance the tables list.</summary>
    public static NdpProxyKind Instance { get; } = new();

    /// <inheritdoc/>
    public override string Key => "ndpProxy";

    /// <inheritdoc/>
    public override NdpProxySpec? Read(YamlNode node, string what, SpecReader reader)
    {
        if (reader.Block(node, what, "interface", "mode", "rules", "addresses") is not { } map)
        {
            return null;
        }
        var iface = reader.RequiredString(map, "interface", what);
        if (iface is not null && (iface.Length is 0 or > 15 || iface.Any(c => char.IsWhiteSpace(c) || c == '/')))
        {
            reader.Error(SpecReader.Get(map, "interface")!, $"{what} interface '{iface}' is not a Linux interface name (1-15 characters, no '/' or spaces)");
        }
        var mode = reader.OptionalString(map, "mode", what) ?? "ndppd";
        if (mode is not ("ndppd" or "kernel"))
        {
            reader.Error(SpecReader.Get(map, "mode")!, $"{what} mode '{mode}' must be ndppd or kernel");
        }
        var rules = new List<NdpRuleSpec>();
        foreach (var item in reader.Sequence(map, "rules", what))
        {
            if (ReadRule(item, what, reader) is { } rule)
            {
                rules.Add(rule);
            }
        }
        var addresses = new List<IPAddress>();
        foreach (var item in reader.Sequence(map, "addresses", what))
        {
            if (reader.Scalar(item, $"{what} address") is not { } text)
            {
                continue;
            }
            if (!IPAddress.TryParse(text, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6 || text.Contains('/', StringComparison.Ordinal))
            {
                reader.Error(item, $"{what} address '{text}' must be a single IPv6 address (kernel proxy entries are per /128)");
                continue;
            }
            addresses.Add(address);
        }
        if (mode == "kernel" && rules.Count > 0)
        {
            reader.Error(SpecReader.Get(map, "rules")!, $"{what} rules need ndppd; with mode kernel list single addresses under 'addresses'");
        }
        if (mode == "ndppd" && SpecReader.Get(map, "rules") is null && SpecReader.Get(map, "addresses") is null)
        {
            reader.Error(map, $"{what} needs rules (for ndppd) or addresses (kernel proxy entries)");
        }
        return iface is null ? null : new NdpProxySpec { Interface = iface, Mode = mode, Rules = rules, Addresses = addresses };
    }

    private static NdpRuleSpec? ReadRule(YamlNode item, string what, SpecReader reader)
    {
        if (reader.Block(item, $"{what} rule", "prefix", "method", "via") is not { } rule)
        {
            return null;
        }
        var method = reader.OptionalString(rule, "method", $"{what} rule") ?? "static";
        if (method is not ("static" or "auto" or "iface"))
        {
            reader.Error(SpecReader.Get(rule, "method")!, $"{what} rule method '{method}' must be static, auto or iface");
        }
        var via = reader.OptionalString(rule, "via", $"{what} rule");
        if ((method == "iface") != (via is not null))
        {
            reader.Error(rule, $"{what} rule: 'via: <interface>' goes with method iface, and only with it");
        }
        if (SpecReader.Get(rule, "prefix") is not { } prefixNode)
        {
            reader.Error(rule, $"{what} rule needs a prefix");
        }
        else if (reader.Ipv6Network(prefixNode, $"{what} rule prefix") is { } prefix)
        {
            return new NdpRuleSpec { Prefix = prefix, Method = method, Via = via };
        }
        return null;
    }

    /// <inheritdoc/>
    public override NdpProxySpec? Merge(IReadOnlyList<(string Profile, NdpProxySpec Block)> fromProfiles, NdpProxySpec? fromNode, List<string> conflicts) =>
        SpecMerge.Whole(fromProfiles, fromNode, Key, conflicts,
            (a, b) => a.Interface == b.Interface && a.Mode == b.Mode && a.Rules.SequenceEqual(b.Rules) && a.Addresses.SequenceEqual(b.Addresses));

    /// <inheritdoc/>
    public override YamlNode Write(NdpProxySpec block)
    {
        var map = new YamlMappingNode { { "interface", block.Interface }, { "mode", block.Mode } };
        if (block.Rules.Count > 0)
        {
            map.Add("rules", new YamlSequenceNode(block.Rules.Select(r =>
            {
                var rule = new YamlMappingNode { { "prefix", r.Prefix.ToString() }, { "method", r.Method } };
                SpecYaml.AddIf(rule, "via", r.Via);
                return (YamlNode)rule;
            })));
        }
        if (block.Addresses.Count > 0)
        {
            map.Add("addresses", SpecYaml.Sequence(block.Addresses.Select(a => a.ToString())));
        }
        return map;
    }
}

/// <summary>The ndpProxy block of a node.</summary>
public static class NdpProxyBlocks
{
    extension(ResourceBlocks blocks)
    {
        /// <summary>NDP proxying; null when not set.</summary>
        public NdpProxySpec? NdpProxy => blocks.Get(NdpProxyKind.Instance);
    }
}
