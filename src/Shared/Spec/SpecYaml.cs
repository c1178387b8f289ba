using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec;

/// <summary>Small builders the kinds use to write their blocks.</summary>
public static class SpecYaml
{
    /// <summary>A mapping of double-quoted values, keys in ordinal order.</summary>
    public static YamlMappingNode Map(IReadOnlyDictionary<string, string> values)
    {
        var map = new YamlMappingNode();
        foreach (var (key, value) in values.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            map.Add(key, new YamlScalarNode(value) { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted });
        }
        return map;
    }

    /// <summary>A list of plain scalars.</summary>
    public static YamlSequenceNode Sequence(IEnumerable<string> values) => new(values.Select(v => (YamlNode)new YamlScalarNode(v)));

    /// <summary>Adds <paramref name="key"/> only when <paramref name="value"/> is set.</summary>
    public static void AddIf(YamlMappingNode map, string key, string? value)
    {
        if (value is not null)
        {
            map.Add(key, value);
        }
    }

    /// <summary><c>true</c>, <c>false</c> or null.</summary>
    public static string? Bool(bool? value) => value switch { true => "true", false => "false", null => null };
}
