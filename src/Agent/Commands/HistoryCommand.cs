using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Hawser.Agent.State;
using Hawser.Shared.Cli;
using Hawser.Shared.HostAccess;

namespace Hawser.Agent.Commands;

/// <summary><c>hawser-agent history</c>: what <c>hawser-agent apply</c> did to this host, from its local journal.</summary>
internal sealed class HistoryCommand : Command
{
    private readonly Option<DirectoryInfo> _root = new("--root") { HelpName = "DIR", Description = "Treat DIR as / (the journal is DIR/var/lib/hawser/journal.jsonl). Default: /." };
    private readonly Option<int> _limit = new("--limit", "-n") { Description = "Show the newest N runs (default 20).", DefaultValueFactory = _ => 20 };
    private readonly Option<string> _output = new("--output", "-o") { Description = "text, or json (one object per run, as the journal stores it).", DefaultValueFactory = _ => "text" };

    public HistoryCommand() : base("history", $"Each run of `hawser-agent apply` on this host, oldest first: when, which spec, the outcome, and every resource that changed (target: from -> to) or failed. Kept in {ApplyJournal.HostPath}, rotated by size.")
    {
        _output.AcceptOnlyFromAmong("text", "json");
        _limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError("--limit must be at least 1");
            }
        });
        Options.Add(_root);
        Options.Add(_limit);
        Options.Add(_output);
        SetAction(Run);
        CommandExamples.Set(this, "hawser-agent history", "hawser-agent history -n 5 -o json");
    }

    private int Run(ParseResult parse)
    {
        var paths = new HostPaths(parse.GetValue(_root)?.FullName ?? "/", "/proc/sys");
        IReadOnlyList<JournalEntry> entries;
        try
        {
            entries = ApplyJournal.Read(paths, parse.GetValue(_limit));
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return ExitCodes.Failed;
        }
        if (parse.GetValue(_output) == "json")
        {
            foreach (var entry in entries)
            {
                Console.WriteLine(JsonSerializer.Serialize(entry, JournalJsonContext.Default.JournalEntry));
            }
            return ExitCodes.Ok;
        }
        if (entries.Count == 0)
        {
            Console.WriteLine($"No runs recorded in {paths.Map(ApplyJournal.HostPath)} yet.");
        }
        foreach (var e in entries)
        {
            var at = e.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            Console.WriteLine($"{at}  {e.Node}  {e.Spec}: {e.Result}, {e.Changed} changed, {e.Failed} failed, {e.InSync} in sync (exit {e.ExitCode})");
            foreach (var resource in e.Resources)
            {
                Console.WriteLine($"    {resource.Outcome,-8} {resource.Id}{(resource.Error is { } error ? ": " + error : "")}");
                foreach (var change in resource.Changes)
                {
                    Console.WriteLine($"             {change}");
                }
            }
        }
        return ExitCodes.Ok;
    }
}
