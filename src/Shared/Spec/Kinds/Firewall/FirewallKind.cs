using System.Globalization;
using System.Net;
using System.Net.Sockets;
using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec.Kinds.Firewall;

/// <summary>Firewall rules Hawser keeps in ufw, in order.</summary>
public sealed record FirewallSpec
{
    /// <summary>The rules, in the order ufw checks them.</summary>
    public IReadOnlyList<FirewallRuleSpec> Rules { get; init; } = [];
}

/// <summary>One rule: what it does to which traffic.</summary>
public sealed record FirewallRuleSpec
{
    /// <summary><c>allow</c>, <c>deny</c> or <c>limit</c> (ufw's rate limit: 6 connections in 30 s per source).</summary>
    public required string Action { get; init; }

    /// <summary><c>tcp</c>, <c>udp</c> or <c>any</c>.</summary>
    public required string Protocol { get; init; }

    /// <summary>Destination ports, ascending; empty for every port.</summary>
    public IReadOnlyList<int> Ports { get; init; } = [];

    /// <summary>Source: an address, a prefix, or <c>any</c>.</summary>
    public string From { get; init; } = "any";

    /// <summary>Destination: an address, a prefix, or <c>any</c>.</summary>
    public string To { get; init; } = "any";

    /// <summary>True for traffic forwarded through the host (to containers: <c>ufw route</c>); false for the host's own (<c>ufw allow</c>).</summary>
    public bool Routed { get; init; }

    /// <summary>The traffic the rule is about, without its action: the key rules merge by.</summary>
    public string Traffic => $"{(Routed ? "routed " : "")}{Protocol}{(Ports.Count > 0 ? " port " + PortList : "")} from {From} to {To}";

    /// <summary>The ports as ufw writes them (<c>80,443</c>).</summary>
    public string PortList => string.Join(',', Ports.Select(p => p.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Compares by content (the port list too).</summary>
    public bool SameAs(FirewallRuleSpec other) => this with { Ports = [] } == other with { Ports = [] } && Ports.SequenceEqual(other.Ports);
}

/// <summary>
/// <c>firewall</c>: rules applied through ufw, merged across profiles by the traffic they are about (like
/// certificates by name); a node's rule for the same traffic replaces the profile's. Each rule names its
/// action and protocol in one key: <c>{allow: tcp, port: [80, 443], to: "2001:db8:1:2::80"}</c>.
/// </summary>
public sealed class FirewallKind : SpecKind<FirewallSpec>
{
    /// <summary>The one instance the tables list.</summary>
    public static FirewallKind Instance { get; } = new();

    /// <inheritdoc/>
    public override string Key => "firewall";

    private static readonly string[] Actions = ["allow", "deny", "limit"];

    /// <summary>iptables' multiport match takes at most 15 ports.</summary>
    public const int MaxPorts = 15;

    /// <inheritdoc/>
    public override FirewallSpec? Read(YamlNode node, string what, SpecReader reader)
    {
        if (reader.Block(node, what, "rules") is not { } map)
        {
            return null;
        }
        if (SpecReader.Get(map, "rules") is null)
        {
            reader.Error(map, $"{what} needs rules, e.g. rules: [{{allow: tcp, port: [80, 443]}}]");
        }
        var rules = new List<(int Number, FirewallRuleSpec Rule)>();
        var number = 0;
        foreach (var item in reader.Sequence(map, "rules", what))
        {
            number++;
            if (ReadRule(item, $"{what} rule {number}", reader) is not { } rule)
            {
                continue;
            }
            if (rules.Find(r => r.Rule.Traffic == rule.Traffic) is { Rule: not null } earlier)
            {
                reader.Error(item, $"{what} rule {number} is about the same traffic as rule {earlier.Number} ({rule.Traffic}); keep one");
                continue;
            }
            rules.Add((number, rule));
        }
        return new FirewallSpec { Rules = [.. rules.Select(r => r.Rule)] };
    }

    private static FirewallRuleSpec? ReadRule(YamlNode node, string what, SpecReader reader)
    {
        if (reader.Block(node, what, [.. Actions, "port", "from", "to", "routed"]) is not { } map)
        {
            return null;
        }
        var actions = Actions.Where(a => SpecReader.Get(map, a) is not null).ToList();
        if (actions.Count != 1)
        {
            reader.Error(map, $"{what} needs exactly one of allow, deny or limit, with the protocol as its value (allow: tcp)");
            return null;
        }
        var action = actions[0];
        var protocol = reader.OptionalString(map, action, what);
        if (protocol is not ("tcp" or "udp" or "any"))
        {
            if (protocol is not null)
            {
                reader.Error(SpecReader.Get(map, action)!, $"{what} {action} '{protocol}' must be a protocol: tcp, udp or any");
            }
            return null;
        }
        var ports = ReadPorts(map, what, reader);
        if (ports is null)
        {
            return null;
        }
        if (ports.Count > 1 && protocol == "any")
        {
            reader.Error(SpecReader.Get(map, "port")!, $"{what} lists several ports; ufw needs tcp or udp for that ({action}: tcp)");
            return null;
        }
        var from = Endpoint(map, "from", what, reader);
        var to = Endpoint(map, "to", what, reader);
        if (from is null || to is null)
        {
            return null;
        }
        if (from.Value.Family is { } fromFamily && to.Value.Family is { } toFamily && fromFamily != toFamily)
        {
            reader.Error(map, $"{what} goes from {from.Value.Text} to {to.Value.Text}: one is IPv4, the other IPv6");
            return null;
        }
        var routed = reader.OptionalBool(map, "routed", what) ?? to.Value.Text != "any";
        return new FirewallRuleSpec { Action = action, Protocol = protocol, Ports = ports, From = from.Value.Text, To = to.Value.Text, Routed = routed };
    }

    private static List<int>? ReadPorts(YamlMappingNode map, string what, SpecReader reader)
    {
        if (SpecReader.Get(map, "port") is not { } node)
        {
            return [];
        }
        IEnumerable<YamlNode> items = node is YamlSequenceNode sequence ? sequence.Children : [node];
        var ports = new SortedSet<int>();
        var ok = true;
        foreach (var item in items)
        {
            if (reader.Scalar(item, $"{what} port") is not { } text)
            {
                ok = false;
            }
            else if (SpecReader.ParsePort(text) is not { } port)
            {
                reader.Error(item, $"{what} port '{text}' must be a port from 1 to 65535");
                ok = false;
            }
            else if (!ports.Add(port))
            {
                reader.Error(item, $"{what} lists port {port} twice");
                ok = false;
            }
        }
        if (ok && ports.Count == 0)
        {
            reader.Error(node, $"{what} port is an empty list; leave it out to mean every port");
            ok = false;
        }
        if (ok && ports.Count > MaxPorts)
        {
            reader.Error(node, $"{what} lists {ports.Count} ports; one rule takes at most {MaxPorts}");
            ok = false;
        }
        return ok ? [.. ports] : null;
    }

    /// <summary><c>any</c>, an address, or a prefix with its host bits zero, written canonically.</summary>
    private static (string Text, AddressFamily? Family)? Endpoint(YamlMappingNode map, string key, string what, SpecReader reader)
    {
        if (reader.OptionalString(map, key, what) is not { } text)
        {
            return SpecReader.Get(map, key) is null ? ("any", null) : null;
        }
        if (text == "any")
        {
            return ("any", null);
        }
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 && IPAddress.TryParse(text, out var address) && !text.Contains('%', StringComparison.Ordinal))
        {
            return (address.ToString(), address.AddressFamily);
        }
        if (slash > 0 && IPNetwork.TryParse(text, out var network) && IPAddress.TryParse(text.AsSpan(0, slash), out var written) && written.Equals(network.BaseAddress))
        {
            var single = network.PrefixLength == (network.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32);
            return (single ? network.BaseAddress.ToString() : network.ToString(), network.BaseAddress.AddressFamily);
        }
        reader.Error(SpecReader.Get(map, key)!, $"{what} {key} '{text}' must be any, an IP address or a prefix with its host bits zero (2001:db8:1:2::/64)");
        return null;
    }

    /// <inheritdoc/>
    public override FirewallSpec? Merge(IReadOnlyList<(string Profile, FirewallSpec Block)> fromProfiles, FirewallSpec? fromNode, List<string> conflicts)
    {
        var merged = SpecMerge.ByKey(
            fromProfiles.Select(p => (p.Profile, (IReadOnlyDictionary<string, FirewallRuleSpec>)p.Block.Rules.ToDictionary(r => r.Traffic, StringComparer.Ordinal))),
            fromNode?.Rules.ToDictionary(r => r.Traffic, StringComparer.Ordinal), (a, b) => a.SameAs(b), "firewall rule for", conflicts);
        if (merged is null)
        {
            return null;
        }
        // ufw checks rules in order: the profiles' (by profile name, then as written), then the node's own new ones.
        var order = fromProfiles.SelectMany(p => p.Block.Rules).Concat(fromNode?.Rules ?? []).Select(r => r.Traffic).Distinct(StringComparer.Ordinal);
        return new FirewallSpec { Rules = [.. order.Select(t => merged[t])] };
    }

    /// <inheritdoc/>
    public override YamlNode Write(FirewallSpec block) => new YamlMappingNode
    {
        {
            "rules", new YamlSequenceNode(block.Rules.Select(rule =>
            {
                var map = new YamlMappingNode { { rule.Action, rule.Protocol } };
                if (rule.Ports.Count > 0)
                {
                    map.Add("port", SpecYaml.Sequence(rule.Ports.Select(p => p.ToString(CultureInfo.InvariantCulture))));
                }
                map.Add("from", rule.From);
                map.Add("to", rule.To);
                map.Add("routed", SpecYaml.Bool(rule.Routed)!);
                return (YamlNode)map;
            }))
        },
    };
}

/// <summary>The firewall block of a node.</summary>
public static class FirewallBlocks
{
    extension(ResourceBlocks blocks)
    {
        /// <summary>Firewall rules; null when not set.</summary>
        public FirewallSpec? Firewall => blocks.Get(FirewallKind.Instance);
    }
}
