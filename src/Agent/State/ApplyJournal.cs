using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hawser.Agent.Reconcile;
using Hawser.Shared.HostAccess;
using Hawser.Shared.IO;

namespace Hawser.Agent.State;

/// <summary>One run of <c>hawser-agent apply</c>, as the journal keeps it: when, what, the counts, and what changed or failed.</summary>
internal sealed record JournalEntry(DateTimeOffset At, string Node, string Spec, string Result, int ExitCode, int InSync, int Changed, int Failed,
    IReadOnlyList<JournalResource> Resources);

/// <summary>A resource that changed or failed in a run; resources in sync are only counted.</summary>
internal sealed record JournalResource(string Id, string Outcome, IReadOnlyList<string> Changes, string? Error);

/// <summary>Source-generated JSON for the journal: one compact object per line.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JournalEntry))]
internal sealed partial class JournalJsonContext : JsonSerializerContext;

/// <summary>
/// The local record of what <c>hawser-agent apply</c> did to this host, so a host without a controller keeps its
/// history: <c>/var/lib/hawser/journal.jsonl</c>, one JSON object per run, newest last. The file is rewritten whole
/// and atomically on each append (never a torn line); past <see cref="MaxBytes"/> it becomes <c>journal.jsonl.1</c>
/// (the one before is dropped), so the two together hold between one and two mebibytes of history.
/// </summary>
internal static class ApplyJournal
{
    /// <summary>The journal's path on the host.</summary>
    public const string HostPath = "/var/lib/hawser/journal.jsonl";

    /// <summary>Size past which the journal is rotated.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>Appends one run's entry (rotating first when the journal is full).</summary>
    public static void Append(HostPaths paths, JournalEntry entry)
    {
        var path = paths.Map(HostPath);
        var line = JsonSerializer.SerializeToUtf8Bytes(entry, JournalJsonContext.Default.JournalEntry);
        var existing = File.Exists(path) ? File.ReadAllBytes(path) : [];
        if (existing.Length + line.Length + 1 > MaxBytes && existing.Length > 0)
        {
            AgentDirectory.Rename(paths, HostPath, HostPath + ".1");
            existing = [];
        }
        AgentDirectory.Write(paths, HostPath, [.. existing, .. line, (byte)'\n']);
    }

    /// <summary>The entry for a finished run.</summary>
    public static JournalEntry Entry(string node, string spec, ConvergeReport report, string result, int exitCode) => new(
        DateTimeOffset.UtcNow, node, spec, result, exitCode,
        report.Count(ResourceOutcome.InSync), report.Count(ResourceOutcome.Changed), report.Resources.Count(r => r.Outcome is ResourceOutcome.Failed or ResourceOutcome.Skipped),
        [.. report.Resources.Where(r => r.Outcome is not (ResourceOutcome.InSync or ResourceOutcome.WouldChange)).Select(r => new JournalResource(
            r.Id, r.Outcome.ToString().ToLowerInvariant(), [.. r.Changes.Select(c => $"{c.Target}: {c.From ?? "(absent)"} -> {c.To ?? "(absent)"}")], r.Error))]);

    /// <summary>
    /// The newest <paramref name="limit"/> entries, oldest first, from the rotated file and the current one; a line that
    /// does not parse (written by something else) is reported as an error naming the file and line.
    /// </summary>
    public static IReadOnlyList<JournalEntry> Read(HostPaths paths, int limit)
    {
        var path = paths.Map(HostPath);
        var entries = new List<JournalEntry>();
        foreach (var file in new[] { path + ".1", path }.Where(File.Exists))
        {
            var number = 0;
            foreach (var line in File.ReadLines(file, Encoding.UTF8))
            {
                number++;
                if (line.Length == 0)
                {
                    continue;
                }
                try
                {
                    entries.Add(JsonSerializer.Deserialize(line, JournalJsonContext.Default.JournalEntry)
                        ?? throw new InvalidDataException($"{file}:{number}: not a journal entry"));
                }
                catch (JsonException ex)
                {
                    throw new InvalidDataException($"{file}:{number}: not a journal entry ({ex.Message})", ex);
                }
            }
        }
        return entries.Count > limit ? entries[^limit..] : entries;
    }
}
