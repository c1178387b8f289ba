using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec;

/// <summary>
/// What every kind reads a block with: typed getters over the YAML tree that record each problem with
/// the file, line and column, so one pass reports all of them. A getter that finds a problem records
/// it and returns null; the caller carries on with the rest of the block.
/// </summary>
public sealed partial class SpecReader(string file, SpecRules rules)
{
    /// <summary>The limits the spec is checked against.</summary>
    public SpecRules Rules { get; } = rules;

    /// <summary>Every problem found so far.</summary>
    public List<SpecError> Errors { get; } = [];

    /// <summary>Records a problem at a line and column.</summary>
    public void Error(int line, int column, string message) => Errors.Add(new SpecError(file, line, column, message));

    /// <summary>Records a problem at a parser mark.</summary>
    public void Error(Mark mark, string message) => Error((int)mark.Line, (int)mark.Column, message);

    /// <summary>Records a problem at a node.</summary>
    public void Error(YamlNode node, string message) => Error(node.Start, message);

    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})\z")]
    private static partial Regex NamePattern();

    /// <summary>True for 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit: node, certificate and CA profile names.</summary>
    public static bool IsName(string name) => NamePattern().IsMatch(name);

    /// <summary>The value under <paramref name="key"/>, or null.</summary>
    public static YamlNode? Get(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    /// <summary>A mapping whose keys are all among <paramref name="keys"/>; unknown ones are reported.</summary>
    public YamlMappingNode? Block(YamlNode node, string what, params string[] keys)
    {
        var map = Mapping(node, what);
        if (map is not null)
        {
            CheckKeys(map, what, keys);
        }
        return map;
    }

    /// <summary>The node as a mapping.</summary>
    public YamlMappingNode? Mapping(YamlNode node, string what)
    {
        if (node is YamlMappingNode map)
        {
            return map;
        }
        Error(node, $"{what} must be a mapping (key: value)");
        return null;
    }

    /// <summary>The node as one value.</summary>
    public string? Scalar(YamlNode node, string what)
    {
        if (node is YamlScalarNode scalar)
        {
            return scalar.Value ?? string.Empty;
        }
        Error(node, $"{what} must be a single value, not a {(node is YamlMappingNode ? "mapping" : "list")}");
        return null;
    }

    /// <summary>The list under <paramref name="key"/>; empty when absent or not a list.</summary>
    public IEnumerable<YamlNode> Sequence(YamlMappingNode map, string key, string what)
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

    /// <summary>A value that must be there.</summary>
    public string? RequiredString(YamlMappingNode map, string key, string what)
    {
        if (Get(map, key) is not { } node)
        {
            Error(map, $"{what} needs '{key}'");
            return null;
        }
        return Scalar(node, $"{what} {key}");
    }

    /// <summary>A value that may be there.</summary>
    public string? OptionalString(YamlMappingNode map, string key, string what) =>
        Get(map, key) is { } node ? Scalar(node, $"{what} {key}") : null;

    /// <summary>true or false, if there.</summary>
    public bool? OptionalBool(YamlMappingNode map, string key, string what) =>
        Get(map, key) is { } node ? Bool(node, $"{what} {key}") : null;

    /// <summary>A port from 1 to 65535, if there.</summary>
    public int? OptionalPort(YamlMappingNode map, string key, string what)
    {
        if (OptionalString(map, key, what) is not { } text)
        {
            return null;
        }
        if (ParsePort(text) is not { } port)
        {
            Error(Get(map, key)!, $"{what} {key} '{text}' must be a port from 1 to 65535");
            return null;
        }
        return port;
    }

    /// <summary>A port written in decimal digits, from 1 to 65535; null otherwise.</summary>
    public static int? ParsePort(string text) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? port : null;

    /// <summary>true or false.</summary>
    public bool? Bool(YamlNode node, string what)
    {
        switch (Scalar(node, what))
        {
            case "true":
                return true;
            case "false":
                return false;
            case null:
                return null;
            case var other:
                Error(node, $"{what} '{other}' must be true or false");
                return null;
        }
    }

    /// <summary>A mapping of single values.</summary>
    public Dictionary<string, string> StringMap(YamlNode node, string what)
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

    /// <summary>An IPv6 prefix written with its host bits zero.</summary>
    public IPNetwork? Ipv6Network(YamlNode node, string what)
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

    /// <summary>An absolute host path the agent may write, if there.</summary>
    public string? AllowedPath(YamlMappingNode map, string key, string what)
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
        if (!Rules.AllowsWrite(path))
        {
            Error(valueNode, $"{what} {key} '{path}' is outside the paths the agent may write ({string.Join(", ", Rules.AllowedPathPrefixes)})");
            return null;
        }
        return path;
    }

    /// <summary>Reports every key of <paramref name="map"/> not in <paramref name="allowed"/>.</summary>
    public void CheckKeys(YamlMappingNode map, string what, params string[] allowed)
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
