using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec.Kinds.Ufw;

/// <summary>ufw's DEFAULT_FORWARD_POLICY.</summary>
public sealed record UfwSpec
{
    /// <summary>ACCEPT, DROP or REJECT.</summary>
    public required string ForwardPolicy { get; init; }
}

/// <summary><c>ufw</c>: the forward policy, one unit.</summary>
public sealed class UfwKind : SpecKind<UfwSpec>
{
    /// <summary>The one instance the tables list.</summary>
    public static UfwKind Instance { get; } = new();

    /// <inheritdoc/>
    public override string Key => "ufw";

    /// <inheritdoc/>
    public override UfwSpec? Read(YamlNode node, string what, SpecReader reader)
    {
        if (reader.Block(node, what, "forwardPolicy") is not { } map)
        {
            return null;
        }
        var policy = reader.RequiredString(map, "forwardPolicy", what);
        if (policy is not null && policy is not ("ACCEPT" or "DROP" or "REJECT"))
        {
            reader.Error(SpecReader.Get(map, "forwardPolicy")!, $"{what} forwardPolicy '{policy}' must be ACCEPT, DROP or REJECT");
            return null;
        }
        return policy is null ? null : new UfwSpec { ForwardPolicy = policy };
    }

    /// <inheritdoc/>
    public override UfwSpec? Merge(IReadOnlyList<(string Profile, UfwSpec Block)> fromProfiles, UfwSpec? fromNode, List<string> conflicts) =>
        SpecMerge.Whole(fromProfiles, fromNode, Key, conflicts);

    /// <inheritdoc/>
    public override YamlNode Write(UfwSpec block) => new YamlMappingNode { { "forwardPolicy", block.ForwardPolicy } };
}

/// <summary>The ufw block of a node.</summary>
public static class UfwBlocks
{
    extension(ResourceBlocks blocks)
    {
        /// <summary>ufw settings; null when not set.</summary>
        public UfwSpec? Ufw => blocks.Get(UfwKind.Instance);
    }
}
