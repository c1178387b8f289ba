using System.Text.Json.Serialization;

namespace Hawser.Agent.Output;

/// <summary><c>hawser-agent apply -o json</c>: the documented, stable shape (README, "apply -o json").</summary>
internal sealed record ApplyOutput(string Node, string Spec, bool DryRun, string Result, ApplySummary Summary,
    IReadOnlyList<ResourceOutput> Resources, IReadOnlyList<SpecErrorOutput> Errors);

/// <summary>Counts per outcome.</summary>
internal sealed record ApplySummary(int InSync, int Changed, int WouldChange, int Failed, int Skipped);

/// <summary>One resource's result.</summary>
internal sealed record ResourceOutput(string Id, string Outcome, IReadOnlyList<ChangeOutput> Changes, IReadOnlyList<string> Warnings, string? Error);

/// <summary>One difference; null means absent.</summary>
internal sealed record ChangeOutput(string Target, string? From, string? To);

/// <summary>A problem with the input (spec, config, command line), where it is.</summary>
internal sealed record SpecErrorOutput(string? File, int Line, int Column, string Message);

/// <summary>Source-generated JSON for every -o json shape.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ApplyOutput))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
