using Hawser.Shared.Protocol;
using Hawser.Shared.Cli;
using System.CommandLine;
using Hawser.Ctl.Output;
using Hawser.Shared.Protocol.V1;
using Spectre.Console;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl nodes</c>: every node the controller knows, with its state.</summary>
internal sealed class NodesCommand : Command
{
    private readonly Option<string[]> _selector = new("--selector", "-l")
    {
        Description = "Only nodes with these labels, as key=value (repeat or separate with commas).",
        AllowMultipleArgumentsPerToken = true,
    };

    public NodesCommand() : base("nodes", "List the nodes the controller knows: connection, labels, revisions, resource states.")
    {
        Options.Add(_selector);
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawserctl nodes", "hawserctl nodes -l role=web,site=fra1");
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        var request = new ListNodesRequest();
        if (!KeyValuePairs.TryAdd(parse.GetValue(_selector), request.Selector, "--selector", output))
        {
            return ExitCodes.Usage;
        }
        return await ControllerClient.RunAsync(parse, output, async (client, options) =>
        {
            var nodes = await client.ListAllNodesAsync(request, options);
            if (nodes.Count == 0 && request.Selector.Count > 0 && output.Format != OutputFormat.Json)
            {
                // Say which: nothing enrolled, or nothing with these labels.
                var all = (await client.ListAllNodesAsync(new ListNodesRequest(), options)).Count;
                var selector = string.Join(",", request.Selector.Select(p => $"{p.Key}={p.Value}"));
                output.WriteLine(all == 0 ? "No nodes have enrolled yet." : $"No node matches {selector} ({all} node(s) enrolled; `hawserctl nodes` lists them).");
                return ExitCodes.Ok;
            }
            Print(output, nodes);
            return ExitCodes.Ok;
        }, cancellationToken);
    }

    private static void Print(ConsoleOutput output, List<Node> nodes)
    {
        if (output.Format == OutputFormat.Json)
        {
            output.WriteJson(new NodesOutput([.. nodes.Select(ToOutput)]), CtlJsonContext.Default.NodesOutput);
            return;
        }
        if (nodes.Count == 0)
        {
            output.WriteLine("No nodes have enrolled yet.");
            return;
        }
        // The same words and cells as status (STATE is the node's state there and here; CONNECTED says the stream).
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("NODE", "STATE", "LABELS", "APPLIED/DESIRED", NodeState.CountsHeader, "LAST SEEN", "AGENT", "CONNECTED");
        foreach (var node in nodes)
        {
            table.AddRow(
                ConsoleOutput.Cell(node.Name),
                NodeState.StateCell(node),
                ConsoleOutput.Cell(string.Join(",", node.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))),
                NodeState.Revisions(node),
                NodeState.CountsCell(node),
                NodeState.LastSeen(node),
                ConsoleOutput.Cell(node.AgentVersion),
                node.Connected ? "yes" : "[grey]no[/]");
        }
        output.WriteTable(table, new TableLayout([7, 6, 5], new HashSet<int>()));
    }

    private static NodeOutput ToOutput(Node node) => new(
        node.Name,
        node.Connected,
        new SortedDictionary<string, string>(node.Labels, StringComparer.Ordinal),
        node.AgentVersion,
        node.DesiredRevision,
        node.AppliedRevision,
        node.LastSeen?.ToDateTimeOffset(),
        Count(node),
        NodeState.Pin(node));

    private static ResourceCounts Count(Node node) => NodeState.Count(node);
}
