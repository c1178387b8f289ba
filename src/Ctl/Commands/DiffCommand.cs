using Hawser.Shared.Cli;
using System.CommandLine;
using Hawser.Ctl.Output;
using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;
using Grpc.Core;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl diff -f SPEC</c>: every connected node dry-runs the candidate; nothing is stored.</summary>
internal sealed class DiffCommand : Command
{
    private readonly Option<FileInfo> _file = new("--file", "-f") { HelpName = "SPEC.yaml", Description = "The candidate spec.", Required = true };

    public DiffCommand() : base("diff", "Ask each node named in the spec for a dry run of it and print what would change. Stores nothing. Exits 2 when something would change.")
    {
        Options.Add(_file);
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawserctl diff -f fleet.yaml", "hawserctl diff -f fleet.yaml -o json | jq '.nodes[].resources'");
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        var file = parse.GetValue(_file)!;
        if (SpecFileInput.Read(file, output) is not { } text)
        {
            return ExitCodes.Usage;
        }
        var request = new DiffSpecRequest { SpecYaml = text, FileName = file.FullName };
        return await ControllerClient.RunAsync(parse, output, async (client, options) =>
        {
            DiffSpecResponse response;
            try
            {
                response = await client.DiffSpecAsync(request, options);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument)
            {
                SpecFileInput.PrintErrors(ex, output);
                return ExitCodes.Failed;
            }
            var changes = response.Nodes.Any(n => n.Resources.Any(r => r.State != ResourceState.InSync));
            if (output.Format == OutputFormat.Json)
            {
                output.WriteJson(new DiffOutput([.. response.Nodes.Select(n => new NodeDiffOutput(n.Node, n.Reachable, [.. n.Resources.Select(StatusCommand.ToOutput)]))]),
                    CtlJsonContext.Default.DiffOutput);
            }
            else
            {
                Print(output, response);
            }
            return changes ? ExitCodes.ChangesFound : ExitCodes.Ok;
        }, cancellationToken, timeout: TimeSpan.FromSeconds(90));
    }

    /// <summary>
    /// Nodes whose plans are the same print once, together ("web1, web2: ..."); each target is named once
    /// per line; a summary line ends it.
    /// </summary>
    private static void Print(ConsoleOutput output, DiffSpecResponse response)
    {
        var groups = response.Nodes
            .Select(node => (node.Node, Text: PlanText(node)))
            .GroupBy(n => n.Text, StringComparer.Ordinal);
        foreach (var group in groups)
        {
            // PlanText neutralised each line before joining them, so these line feeds are its own.
            var lines = group.Key.Split('\n');
            output.WriteLine($"{string.Join(", ", group.Select(n => n.Node))}: {lines[0]}");
            foreach (var line in lines.Skip(1))
            {
                output.WriteLine(line);
            }
        }
        var reachable = response.Nodes.Where(n => n.Reachable).ToList();
        var changing = reachable.Count(n => n.Resources.Any(r => r.State == ResourceState.WouldChange));
        var failing = reachable.Count(n => n.Resources.Any(r => StateWords.IsFailed(r.State)));
        output.WriteLine($"{changing} of {response.Nodes.Count} node(s) would change " +
            $"({reachable.Sum(n => n.Resources.Count(r => r.State == ResourceState.WouldChange))} resource(s)), {failing} would fail, " +
            $"{response.Nodes.Count - reachable.Count} not connected");
    }

    /// <summary>One node's plan as text: the header, then one line per resource that is not in sync.</summary>
    private static string PlanText(NodeDiff node)
    {
        if (!node.Reachable)
        {
            return "not connected, no dry run";
        }
        var pending = node.Resources.Where(r => r.State != ResourceState.InSync).ToList();
        var failing = pending.Count(r => StateWords.IsFailed(r.State));
        var changing = pending.Count - failing;
        // Would-change and failed apart: a failure is not a change the apply would make.
        var head = pending.Count == 0 ? "no changes"
            : failing == 0 ? $"{changing} resource(s) would change"
            : $"{changing} resource(s) would change, {failing} would fail";
        return string.Join('\n', [head, .. pending.Select(r => TerminalText.Neutralize($"  {StateWords.Resource(r.State),-13} {r.Kind}:{r.Name} {Without(r.Diff, r)}{r.Error}"))]);
    }

    /// <summary>A diff without the target its resource already names (a file's path, a sysctl's path under /proc/sys).</summary>
    private static string Without(string diff, ResourceStatus resource)
    {
        var keyPath = resource.Kind == "sysctl" ? "/" + resource.Name.Replace('.', '/') : null;
        return string.Join("; ", diff.Split("; ").Select(part =>
        {
            if (part.StartsWith(resource.Name + " ", StringComparison.Ordinal))
            {
                return part[(resource.Name.Length + 1)..];
            }
            var colon = part.IndexOf(": ", StringComparison.Ordinal);
            var target = colon < 0 ? null : part[..colon];
            return target is not null && (target == resource.Name || keyPath is not null && target.EndsWith(keyPath, StringComparison.Ordinal))
                ? part[(colon + 2)..] : part;
        }));
    }
}
