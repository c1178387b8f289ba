using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec.Kinds.Agent;

/// <summary>The agent release a node runs (a published release's version, e.g. 1.4.0 or 1.4.0-rc1).</summary>
public sealed record AgentSpec
{
    /// <summary>The release's version, as <c>hawserctl agent releases</c> lists it.</summary>
    public required string Version { get; init; }
}

/// <summary><c>agent</c>: which agent release the node runs; set on a profile, a canary label can run ahead of the rest.</summary>
public sealed class AgentKind : SpecKind<AgentSpec>
{
    /// <summary>The one instance the tables list.</summary>
    public static AgentKind Instance { get; } = new();

    /// <inheritdoc/>
    public override string Key => "agent";

    /// <inheritdoc/>
    public override AgentSpec? Read(YamlNode node, string what, SpecReader reader)
    {
        if (reader.Block(node, what, "version") is not { } map)
        {
            return null;
        }
        var version = reader.RequiredString(map, "version", what);
        if (version is not null && !Protocol.VersionSkew.IsReleaseVersion(version))
        {
            reader.Error(SpecReader.Get(map, "version")!, $"{what} version '{version}' is not a release version like 1.4.0 or 1.4.0-rc1");
            return null;
        }
        return version is null ? null : new AgentSpec { Version = version };
    }

    /// <inheritdoc/>
    public override AgentSpec? Merge(IReadOnlyList<(string Profile, AgentSpec Block)> fromProfiles, AgentSpec? fromNode, List<string> conflicts) =>
        SpecMerge.Whole(fromProfiles, fromNode, Key, conflicts);

    /// <inheritdoc/>
    public override YamlNode Write(AgentSpec block) => new YamlMappingNode { { "version", new YamlScalarNode(block.Version) { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted } } };
}

/// <summary>The agent block of a node.</summary>
public static class AgentBlocks
{
    extension(ResourceBlocks blocks)
    {
        /// <summary>The agent release the node runs; null when the spec does not say.</summary>
        public AgentSpec? Agent => blocks.Get(AgentKind.Instance);
    }
}
