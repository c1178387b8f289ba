using YamlDotNet.RepresentationModel;

namespace Hawser.Shared.Spec;

/// <summary>
/// The spec half of a resource kind: the block's key in a node or profile, how the block is read and
/// checked, how profiles and the node's own block merge, and how the merged block is written into the
/// node text the controller sends an agent. Each kind lives in its own folder under
/// <c>Spec/Kinds/</c> and is listed once in <see cref="SpecKinds.All"/>.
/// </summary>
public interface ISpecKind
{
    /// <summary>The block's key, e.g. <c>sysctls</c>.</summary>
    string Key { get; }

    /// <summary>Reads and checks the block, reporting every problem to <paramref name="reader"/>; null when nothing usable is left.</summary>
    object? Read(YamlNode node, string what, SpecReader reader);

    /// <summary>The node's effective block from the matching profiles' (ordered by name) and the node's own; disagreements go to <paramref name="conflicts"/>.</summary>
    object? Merge(IReadOnlyList<(string Profile, object Block)> fromProfiles, object? fromNode, List<string> conflicts);

    /// <summary>The block as YAML, read back by <see cref="Read"/> to an equal block.</summary>
    YamlNode Write(object block);

    /// <summary>Checks what needs the whole spec (e.g. the acme block a block relies on); <paramref name="top"/> is the spec's root mapping.</summary>
    void CheckDocument(SpecDocument spec, YamlMappingNode top, SpecReader reader)
    {
    }
}

/// <summary>An <see cref="ISpecKind"/> whose block is a <typeparamref name="TBlock"/>.</summary>
public abstract class SpecKind<TBlock> : ISpecKind
    where TBlock : class
{
    /// <inheritdoc/>
    public abstract string Key { get; }

    /// <summary>Reads and checks the block; null when nothing usable is left.</summary>
    public abstract TBlock? Read(YamlNode node, string what, SpecReader reader);

    /// <summary>Merges the profiles' blocks and the node's own.</summary>
    public abstract TBlock? Merge(IReadOnlyList<(string Profile, TBlock Block)> fromProfiles, TBlock? fromNode, List<string> conflicts);

    /// <summary>Writes the block as YAML.</summary>
    public abstract YamlNode Write(TBlock block);

    /// <inheritdoc cref="ISpecKind.CheckDocument"/>
    public virtual void CheckDocument(SpecDocument spec, YamlMappingNode top, SpecReader reader)
    {
    }

    object? ISpecKind.Read(YamlNode node, string what, SpecReader reader) => Read(node, what, reader);

    object? ISpecKind.Merge(IReadOnlyList<(string Profile, object Block)> fromProfiles, object? fromNode, List<string> conflicts) =>
        Merge([.. fromProfiles.Select(p => (p.Profile, (TBlock)p.Block))], (TBlock?)fromNode, conflicts);

    YamlNode ISpecKind.Write(object block) => Write((TBlock)block);
}
