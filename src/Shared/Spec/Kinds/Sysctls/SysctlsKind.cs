using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec.Kinds.Sysctls;

/// <summary>
/// <c>sysctls</c>: kernel parameters, dotted name to value, merged key by key. A name written with
/// slashes is refused (and shown dotted) so one key has one spelling.
/// </summary>
public sealed partial class SysctlsKind : SpecKind<IReadOnlyDictionary<string, string>>
{
    /// <summary>The one instance the tables list.</summary>
    public static SysctlsKind Instance { get; } = new();

    /// <inheritdoc/>
    public override string Key => "sysctls";

    [GeneratedRegex(@"^[a-z0-9_*-]+(\.[a-z0-9_*-]+)+\z")]
    private static partial Regex SysctlName();

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> Read(YamlNode node, string what, SpecReader reader)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (reader.Mapping(node, what) is not { } map)
        {
            return result;
        }
        foreach (var (key, value) in map.Children)
        {
            if (reader.Scalar(key, "a sysctl name") is not { } name)
            {
                continue;
            }
            if (name.Contains('/', StringComparison.Ordinal))
            {
                reader.Error(key, $"sysctl '{name}' uses slashes; write it dotted ('{name.Trim('/').Replace('/', '.')}') so one key has one spelling");
            }
            else if (!SysctlName().IsMatch(name) || name.Contains("..", StringComparison.Ordinal))
            {
                reader.Error(key, $"sysctl '{name}' is not a dotted name of [a-z0-9_*-] segments");
            }
            if (reader.Scalar(value, $"sysctl '{name}'") is not { } setting)
            {
                continue;
            }
            if (setting.Length == 0 || setting.Contains('\n', StringComparison.Ordinal) || setting.Contains('\r', StringComparison.Ordinal))
            {
                reader.Error(value, $"sysctl '{name}' needs a one-line, non-empty value");
                continue;
            }
            result[name] = setting;
        }
        return result;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string>? Merge(IReadOnlyList<(string Profile, IReadOnlyDictionary<string, string> Block)> fromProfiles,
        IReadOnlyDictionary<string, string>? fromNode, List<string> conflicts) =>
        SpecMerge.ByKey(fromProfiles, fromNode, string.Equals, "sysctl", conflicts);

    /// <inheritdoc/>
    public override YamlNode Write(IReadOnlyDictionary<string, string> block) => SpecYaml.Map(block);
}

/// <summary>The sysctls block of a node.</summary>
public static class SysctlBlocks
{
    extension(ResourceBlocks blocks)
    {
        /// <summary>Kernel parameters, dotted name to value; null when not set.</summary>
        public IReadOnlyDictionary<string, string>? Sysctls => blocks.Get(SysctlsKind.Instance);
    }
}
