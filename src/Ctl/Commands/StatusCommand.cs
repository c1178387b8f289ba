using Hawser.Shared.Cli;
using System.CommandLine;
using System.Globalization;
using Hawser.Ctl.Output;
using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;
using Spectre.Console;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl status [NODE]</c>: one line per node, or one node's resources in detail.</summary>
internal sealed class StatusCommand : Command
{
    private readonly Argument<string?> _node = new("NODE") { Description = "Show this node's resources one by one.", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<bool> _check = new("--check")
    {
        Description = "For scripts: exit 0 only when every node shown is in sync (pinned nodes count when they run their pin); 1 when a node failed " +
            "or runs an agent version this controller refuses; " +
            "4 when one is pending, offline or new, or the spec names a node that is not enrolled (or was removed).",
    };

    public StatusCommand() : base("status", "The fleet at a glance: connection, agent, applied/desired revision (and a rollout's pin), resources, drift corrected.")
    {
        Arguments.Add(_node);
        Options.Add(_check);
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawserctl status", "hawserctl status web1 -o json", "hawserctl status --check || echo 'the fleet is not in sync'");
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        var name = parse.GetValue(_node);
        var check = parse.GetValue(_check);
        return await ControllerClient.RunAsync(parse, output, async (client, options) =>
        {
            if (name is not null)
            {
                var node = await client.GetNodeAsync(new GetNodeRequest { Name = name }, options);
                PrintDetail(output, node);
                return check ? CheckCode([node]) : ExitCodes.Ok;
            }
            var (nodes, unenrolled) = await client.ListFleetAsync(new ListNodesRequest(), options);
            PrintFleet(output, nodes, unenrolled);
            var code = CheckCode(nodes);
            return !check ? ExitCodes.Ok : code == ExitCodes.Ok && unenrolled.Count > 0 ? ExitCodes.NoReport : code;
        }, cancellationToken);
    }

    /// <summary>--check's exit code: 1 when a node failed, 4 when one is not in sync otherwise, 0 when all are.</summary>
    public static int CheckCode(IEnumerable<Node> nodes)
    {
        var states = nodes.Select(NodeState.Of).ToList();
        return states.Contains("failed") || states.Contains(StateWords.Incompatible) ? ExitCodes.Failed : states.All(s => s == "in-sync") ? ExitCodes.Ok : ExitCodes.NoReport;
    }

    private static void PrintFleet(ConsoleOutput output, List<Node> nodes, List<UnenrolledNode> unenrolled)
    {
        if (output.Format == OutputFormat.Json)
        {
            output.WriteJson(new StatusOutput([.. nodes.Select(n => ToOutput(n, detail: false))],
                [.. unenrolled.Select(UnenrolledOutput.Of)]), CtlJsonContext.Default.StatusOutput);
            return;
        }
        if (nodes.Count == 0 && unenrolled.Count == 0)
        {
            output.WriteLine("No nodes have enrolled yet. `hawserctl token create` makes a join token.");
            return;
        }
        // What an operator looks at first stays on 80 columns: which controller holds the agent (several controllers
        // only) gives way first, then the agent's version, then the times.
        var byController = nodes.Any(n => n.Controller.Length > 0);
        string[] headers = ["NODE", "STATE", "APPLIED/DESIRED", NodeState.CountsHeader, "DRIFT", "LAST SEEN", "AGENT"];
        var table = new Table().Border(TableBorder.Simple).AddColumns(byController ? [.. headers, "CONTROLLER"] : headers);
        foreach (var node in nodes)
        {
            string[] cells =
            [
                ConsoleOutput.Cell(node.Name),
                NodeState.StateCell(node),
                NodeState.Revisions(node),
                NodeState.CountsCell(node),
                node.DriftCorrected > 0 ? $"[yellow]{node.DriftCorrected} fixed[/]" : "0",
                NodeState.LastSeen(node),
                ConsoleOutput.Cell(node.AgentVersion),
            ];
            table.AddRow(byController ? [.. cells, ConsoleOutput.Cell(node.Controller.Length > 0 ? node.Controller : "-")] : cells);
        }
        foreach (var missing in unenrolled)
        {
            string[] cells = [ConsoleOutput.Cell(missing.Name), missing.Removed ? "[red]removed[/]" : "[red]not enrolled[/]", "", "", "", "never", ""];
            table.AddRow(byController ? [.. cells, ""] : cells);
        }
        output.WriteTable(table, new TableLayout([7, 6, 5, 4], new HashSet<int>()));
        foreach (var missing in unenrolled)
        {
            output.WriteLine(UnenrolledLine(missing));
        }
        foreach (var node in nodes.Where(n => n.VersionProblem.Length > 0))
        {
            output.WriteLine($"{node.Name}: {node.VersionProblem}");
        }
    }

    /// <summary>What to say of a node the spec names that is not enrolled (apply says the same).</summary>
    public static string UnenrolledLine(UnenrolledNode missing) =>
        $"{missing.Name}: {(missing.Removed ? "removed, but the spec still names it (take it out of the spec, or enroll it again)" : "named by the spec but not enrolled (`hawserctl token create` makes a join token)")}"
        + (missing.Nearest.Length > 0 ? $"; did you mean {missing.Nearest}?" : "");

    private static void PrintDetail(ConsoleOutput output, Node node)
    {
        if (output.Format == OutputFormat.Json)
        {
            output.WriteJson(ToOutput(node, detail: true), CtlJsonContext.Default.NodeStatusOutput);
            return;
        }
        output.WriteLine($"{node.Name}: {NodeState.Of(node)}, revision {node.AppliedRevision} applied/{node.DesiredRevision} desired"
            + (NodeState.Pin(node) is { } pin ? $" (a rollout holds it on revision {pin})" : "") + $", agent {node.AgentVersion}, drift corrected {node.DriftCorrected}");
        if (node.VersionProblem.Length > 0)
        {
            output.WriteLine($"{node.Name}: {node.VersionProblem}");
        }
        if (Host(node) is { } host)
        {
            var parts = new[] { host.Hostname, host.Distro, host.Kernel.Length > 0 ? "kernel " + host.Kernel : "", host.Architecture, host.InitSystem,
                host.DockerVersion.Length > 0 ? "Docker " + host.DockerVersion : "no Docker engine answered" };
            output.WriteLine("host: " + string.Join(", ", parts.Where(p => p.Length > 0)));
            if (host.Interfaces.Count > 0)
            {
                output.WriteLine("interfaces: " + string.Join("; ", host.Interfaces.Select(i => $"{i.Name}{(i.Up ? "" : " (down)")}{(i.Addresses.Count > 0 ? " " + string.Join(' ', i.Addresses) : "")}")));
            }
        }
        var table = new Table().Border(TableBorder.Simple).AddColumns("RESOURCE", "STATE", "DETAIL");
        foreach (var resource in node.Resources)
        {
            var detail = string.Join("; ", new[] { resource.Error, resource.Diff }.Concat(resource.Warnings.Select(w => "warning: " + w)).Where(s => s.Length > 0));
            table.AddRow(ConsoleOutput.Cell($"{resource.Kind}:{resource.Name}"), StateWords.Resource(resource.State), ConsoleOutput.Cell(detail));
        }
        output.WriteTable(table);
    }

    private static NodeStatusOutput ToOutput(Node node, bool detail) => new(
        node.Name, NodeState.Of(node), node.Connected, node.LastSeen?.ToDateTimeOffset(), node.AgentVersion,
        node.DesiredRevision, node.AppliedRevision, NodeState.Count(node), node.DriftCorrected,
        detail ? [.. node.Resources.Select(ToOutput)] : null, NodeState.Pin(node), detail ? Host(node) : null, node.Controller.Length > 0 ? node.Controller : null,
        node.VersionProblem.Length > 0 ? node.VersionProblem : null);

    /// <summary>The host facts a node's agent sent, or null when it has sent none.</summary>
    private static HostOutput? Host(Node node) => node.Facts is not { } facts ? null : new(
        facts.Hostname, facts.Distro, facts.Kernel, facts.Architecture, facts.InitSystem, facts.DockerVersion,
        [.. facts.Interfaces.Select(i => new InterfaceOutput(i.Name, i.Up, [.. i.Addresses]))]);

    /// <summary>One resource for JSON.</summary>
    public static ResourceOutput ToOutput(ResourceStatus resource) =>
        new(resource.Kind, resource.Name, StateWords.Resource(resource.State), resource.Diff, resource.Error, [.. resource.Warnings]);
}
