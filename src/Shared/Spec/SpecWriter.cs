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
            nodeMap.Add("labels", SpecYaml.Map(labels));
        }
        foreach (var kind in SpecKinds.All)
        {
            if (blocks.Get(kind) is { } block)
            {
                nodeMap.Add(kind.Key, kind.Write(block));
            }
        }
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
}
