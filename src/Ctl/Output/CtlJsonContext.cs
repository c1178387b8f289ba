using System.Text.Json.Serialization;

namespace Hawser.Ctl.Output;

/// <summary><c>hawserctl nodes -o json</c>: the documented, stable shape.</summary>
internal sealed record NodesOutput(IReadOnlyList<NodeOutput> Nodes);

/// <summary>One node in <see cref="NodesOutput"/>.</summary>
internal sealed record NodeOutput(
    string Name,
    bool Connected,
    IReadOnlyDictionary<string, string> Labels,
    string AgentVersion,
    ulong DesiredRevision,
    ulong AppliedRevision,
    DateTimeOffset? LastSeen,
    ResourceCounts Resources);

/// <summary>Per-state counts of a node's resources from its last report.</summary>
internal sealed record ResourceCounts(int InSync, int Changed, int Failed, int Other);

/// <summary>An error, as printed with -o json.</summary>
internal sealed record ErrorOutput(string Error, string? Code);

/// <summary>Source-generated JSON for every -o json shape (trim-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(NodesOutput))]
[JsonSerializable(typeof(ErrorOutput))]
internal sealed partial class CtlJsonContext : JsonSerializerContext;
