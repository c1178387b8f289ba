using System.CommandLine;
using System.Runtime.CompilerServices;

namespace Hawser.Shared.Cli;

/// <summary>Example command lines a verb's help ends with (one or two, the way an operator would type them).</summary>
public static class CommandExamples
{
    private static readonly ConditionalWeakTable<Command, string[]> Examples = [];

    /// <summary>Sets <paramref name="command"/>'s examples.</summary>
    public static void Set(Command command, params string[] examples) => Examples.AddOrUpdate(command, examples);

    /// <summary>The examples of <paramref name="command"/>, empty when it has none.</summary>
    public static IReadOnlyList<string> Of(Command command) => Examples.TryGetValue(command, out var examples) ? examples : [];
}
