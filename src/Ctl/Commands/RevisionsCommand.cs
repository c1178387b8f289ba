using Hawser.Shared.Cli;
using System.CommandLine;
using System.Globalization;
using Hawser.Ctl.Output;
using Hawser.Shared.Protocol.V1;
using Spectre.Console;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl revisions</c>: stored spec revisions, newest first.</summary>
internal sealed class RevisionsCommand : Command
{
    private readonly Option<uint> _limit = new("--limit") { Description = "How many (default 20)." };

    public RevisionsCommand() : base("revisions", "List stored spec revisions, newest first: number, author, time, message.")
    {
        Options.Add(_limit);
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawserctl revisions --limit 5");
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
                table.AddRow(revision.Number.ToString(CultureInfo.InvariantCulture), Markup.Escape(revision.Author),
                    revision.CreatedAt.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture), Markup.Escape(revision.Message));
            }
            output.WriteTable(table);
            return ExitCodes.Ok;
        }, cancellationToken);
    }
}
