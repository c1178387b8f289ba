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
                foreach (var node in response.Nodes)
                {
                    var pending = node.Resources.Where(r => r.State != ResourceState.InSync).ToList();
                    var failing = pending.Count(r => StateWords.IsFailed(r.State));
                    var changing = pending.Count - failing;
                    // Would-change and failed apart: a failure is not a change the apply would make.
                    output.WriteLine(!node.Reachable ? $"{node.Node}: not connected, no dry run"
                        : pending.Count == 0 ? $"{node.Node}: no changes"
                        : failing == 0 ? $"{node.Node}: {changing} resource(s) would change"
                        : $"{node.Node}: {changing} resource(s) would change, {failing} would fail");
                    foreach (var resource in pending)
                    {
                        output.WriteLine($"  {StateWords.Resource(resource.State),-13} {resource.Kind}:{resource.Name} {resource.Diff}{resource.Error}");
                    }
                }
            }
            return changes ? 2 : ExitCodes.Ok;
        }, cancellationToken, timeout: TimeSpan.FromSeconds(90));
    }
}
