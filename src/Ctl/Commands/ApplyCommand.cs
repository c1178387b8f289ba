using System.CommandLine;
using Hawser.Ctl.Output;
using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Rpc;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl apply -f SPEC [-m MESSAGE]</c>: store a new revision and push it to the nodes it changes.</summary>
internal sealed class ApplyCommand : Command
{
    private readonly Option<FileInfo> _file = new("--file", "-f") { HelpName = "SPEC.yaml", Description = "The spec to apply.", Required = true };
    private readonly Option<string> _message = new("--message", "-m") { Description = "Why: stored with the revision.", DefaultValueFactory = _ => string.Empty };

    public ApplyCommand() : base("apply", "Validate a spec, store it as a new revision, and push each connected node its own state. Nothing is stored when the spec is invalid.")
    {
        Options.Add(_file);
        Options.Add(_message);
        SetAction(RunAsync);
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        var file = parse.GetValue(_file)!;
        if (await SpecFileInput.ReadAsync(file, output, cancellationToken) is not { } text)
        {
            return ExitCodes.Usage;
        }
        var request = new ApplySpecRequest { SpecYaml = text, FileName = file.FullName, Message = parse.GetValue(_message)! };
        return await ControllerClient.RunAsync(parse, output, async (channel, options) =>
        {
            ApplySpecResponse response;
            try
            {
                response = await channel.UnaryAsync(ControlServiceMethods.ApplySpec, request, options);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument)
            {
                SpecFileInput.PrintErrors(ex, output);
                output.WriteError("the spec was not stored", "InvalidSpec");
                return ExitCodes.Failed;
            }
            if (output.Format == OutputFormat.Json)
            {
                output.WriteJson(new ApplyOutput(response.Revision, response.Unchanged, [.. response.PushedNodes]), CtlJsonContext.Default.ApplyOutput);
            }
            else if (response.Unchanged)
            {
                output.WriteLine($"unchanged: the spec equals revision {response.Revision}; nothing stored or pushed");
            }
            else
            {
                output.WriteLine($"revision {response.Revision} stored; pushed to {(response.PushedNodes.Count == 0 ? "no connected node whose state changed" : string.Join(", ", response.PushedNodes))}");
            }
            return ExitCodes.Ok;
        }, cancellationToken);
    }
}
