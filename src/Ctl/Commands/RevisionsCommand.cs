using Hawser.Shared.Cli;
using System.CommandLine;
using System.Globalization;
using Hawser.Ctl.Output;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Text;
using Spectre.Console;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl revisions</c>: stored spec revisions, newest first.</summary>
internal sealed class RevisionsCommand : Command
{
    private readonly Option<uint> _limit = new("--limit") { Description = "How many (default 20)." };

    public RevisionsCommand() : base("revisions", "List stored spec revisions, newest first: number, author, time, message; show one, or diff two.")
    {
        Options.Add(_limit);
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawserctl revisions --limit 5");

        var number = new Argument<ulong>("N") { Description = "The revision." };
        var show = new Command("show", "Print the spec text revision N stores.") { number };
        show.SetAction((parse, cancellationToken) => ShowAsync(parse, parse.GetValue(number), cancellationToken));
        CommandExamples.Set(show, "hawserctl revisions show 3 > fleet.yaml");
        Subcommands.Add(show);

        var from = new Argument<ulong>("A") { Description = "The older revision." };
        var to = new Argument<ulong>("B") { Description = "The newer revision." };
        var diff = new Command("diff", "What changed in the spec from revision A to revision B, as a unified diff with hunks and line numbers (coloured on a terminal). Exits 2 when they differ.") { from, to };
        diff.SetAction((parse, cancellationToken) => DiffAsync(parse, parse.GetValue(from), parse.GetValue(to), cancellationToken));
        CommandExamples.Set(diff, "hawserctl revisions diff 2 3", "hawserctl revisions diff 2 3 | less");
        Subcommands.Add(diff);
    }

    private static async Task<int> ShowAsync(ParseResult parse, ulong number, CancellationToken cancellationToken)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        return await ControllerClient.RunAsync(parse, output, async (client, options) =>
        {
            var revision = await client.GetRevisionAsync(new GetRevisionRequest { Number = number }, options);
            output.WriteRaw(revision.SpecYaml.EndsWith('\n') ? revision.SpecYaml : revision.SpecYaml + "\n");
            return ExitCodes.Ok;
        }, cancellationToken);
    }

    private static async Task<int> DiffAsync(ParseResult parse, ulong from, ulong to, CancellationToken cancellationToken)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        return await ControllerClient.RunAsync(parse, output, async (client, options) =>
        {
            var older = await client.GetRevisionAsync(new GetRevisionRequest { Number = from }, options);
            var newer = await client.GetRevisionAsync(new GetRevisionRequest { Number = to }, options);
            var unified = LineDiff.Unified(older.SpecYaml, newer.SpecYaml, $"revision {from}", $"revision {to}");
            if (unified.Length == 0)
            {
                output.WriteLine($"revisions {from} and {to} store the same spec");
                return ExitCodes.Ok;
            }
            foreach (var line in unified.TrimEnd('\n').Split('\n'))
            {
                output.WriteColoured(line, line.StartsWith("@@", StringComparison.Ordinal) ? "cyan"
                    : line.StartsWith("+++", StringComparison.Ordinal) || line.StartsWith("---", StringComparison.Ordinal) ? "bold"
                    : line.StartsWith('+') ? "green" : line.StartsWith('-') ? "red" : null);
            }
            return ExitCodes.ChangesFound;
        }, cancellationToken);
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        return await ControllerClient.RunAsync(parse, output, async (client, options) =>
        {
            var revisions = (await client.ListRevisionsAsync(new ListRevisionsRequest { Limit = parse.GetValue(_limit) }, options)).Revisions;
            if (output.Format == OutputFormat.Json)
            {
                output.WriteJson(new RevisionsOutput([.. revisions.Select(r => new RevisionOutput(r.Number, r.Author, r.Message, r.CreatedAt.ToDateTimeOffset(), r.SpecSha256))]),
                    CtlJsonContext.Default.RevisionsOutput);
                return ExitCodes.Ok;
            }
            var table = new Table().Border(TableBorder.Simple).AddColumns("REVISION", "AUTHOR", "CREATED", "MESSAGE");
            foreach (var revision in revisions)
            {
                table.AddRow(revision.Number.ToString(CultureInfo.InvariantCulture), ConsoleOutput.Cell(revision.Author),
                    revision.CreatedAt.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture), ConsoleOutput.Cell(revision.Message));
            }
            output.WriteTable(table);
            return ExitCodes.Ok;
        }, cancellationToken);
    }
}
