using System.Text.Json;
using Hawser.Agent.Reconcile;
using Hawser.Shared.Cli;
using Spectre.Console;

namespace Hawser.Agent.Output;

/// <summary>
/// Everything <c>apply</c> prints: a plan for people as each resource finishes (colour on a terminal,
/// plain text on a pipe), or one JSON document for scripts.
/// </summary>
internal sealed class ApplyConsole(bool json)
{
    private readonly IAnsiConsole _out = TerminalConsole.CreateStdout();

    /// <summary>True for -o json.</summary>
    public bool Json { get; } = json;

    /// <summary>The header line.</summary>
    public void Start(string node, string spec, bool dryRun, int resources)
    {
        if (!Json)
        {
            _out.MarkupLineInterpolated($"[bold]{node}[/] from {spec}: {resources} resource(s)");
            if (dryRun)
            {
                _out.MarkupLine("[yellow]dry run: nothing is changed[/]");
            }
        }
    }

    /// <summary>One resource, as it finishes.</summary>
    public void Resource(ResourceReport report)
    {
        if (Json)
        {
            return;
        }
        var (label, colour) = report.Outcome switch
        {
            ResourceOutcome.InSync => ("in sync", "green"),
            ResourceOutcome.Changed => ("changed", "blue"),
            ResourceOutcome.WouldChange => ("would change", "yellow"),
            ResourceOutcome.Failed => ("FAILED", "red"),
            _ => ("skipped", "red"),
        };
        _out.MarkupLineInterpolated($"  [{colour}]{label,-13}[/] {report.Id}");
        foreach (var change in report.Changes)
        {
            _out.MarkupLineInterpolated($"      {change.Target}: {change.From ?? "(absent)"} -> {change.To ?? "(absent)"}");
        }
        foreach (var warning in report.Warnings)
        {
            _out.MarkupLineInterpolated($"      [yellow]warning:[/] {warning}");
        }
        if (report.Error is { } error)
        {
            _out.MarkupLineInterpolated($"      [red]{error}[/]");
        }
    }

    /// <summary>The summary line, or the whole JSON document.</summary>
    public void Finish(string node, string spec, ConvergeReport report, string result)
    {
        if (Json)
        {
            Write(new ApplyOutput(node, spec, report.DryRun, result, Summary(report),
                [.. report.Resources.Select(r => new ResourceOutput(r.Id, OutcomeName(r.Outcome),
                    [.. r.Changes.Select(c => new ChangeOutput(c.Target, c.From, c.To))], r.Warnings, r.Error))], []));
            return;
        }
        // What each certificate's server serves: the other half of "installed" (an install's verify:). A check the spec
        // wrote that read nothing failed its certificate above; the default's silence is not news.
        foreach (var served in report.Served.Where(s => s.Serial is not null))
        {
            _out.WriteLine($"served        certificate:{served.Certificate} at {served.Target}: serial {served.Serial}, valid until {served.NotAfter:yyyy-MM-dd HH:mm:ss}Z"
                + (served.CoversName ? "" : " (a certificate for other names)"));
        }
        var s = Summary(report);
        _out.WriteLine($"{s.InSync} in sync, {s.Changed} changed, {s.WouldChange} would change, {s.Failed} failed, {s.Skipped} skipped");
    }

    /// <summary>Input problems (or a failure that stopped the run when <paramref name="nothingChanged"/> is false): to stderr for people, in the JSON document for scripts.</summary>
    public void InputErrors(string node, string spec, IReadOnlyList<SpecErrorOutput> errors, bool nothingChanged = true)
    {
        if (Json)
        {
            Write(new ApplyOutput(node, spec, false, "invalid", new ApplySummary(0, 0, 0, 0, 0), [], errors));
            return;
        }
        foreach (var error in errors)
        {
            Console.Error.WriteLine(error.File is null ? $"error: {error.Message}" : $"{error.File}:{error.Line}:{error.Column}: error: {error.Message}");
        }
        Console.Error.WriteLine(nothingChanged ? "Nothing was changed." : "The run stopped; every change made so far was recorded first and is finished or undone by the next run.");
    }

    /// <summary>The outcome names used in JSON.</summary>
    public static string OutcomeName(ResourceOutcome outcome) => outcome switch
    {
        ResourceOutcome.InSync => "in-sync",
        ResourceOutcome.Changed => "changed",
        ResourceOutcome.WouldChange => "would-change",
        ResourceOutcome.Failed => "failed",
        _ => "skipped",
    };

    private static ApplySummary Summary(ConvergeReport report) => new(report.Count(ResourceOutcome.InSync), report.Count(ResourceOutcome.Changed),
        report.Count(ResourceOutcome.WouldChange), report.Count(ResourceOutcome.Failed), report.Count(ResourceOutcome.Skipped));

    private void Write(ApplyOutput output) => _out.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(output, AgentJsonContext.Default.ApplyOutput));
}
