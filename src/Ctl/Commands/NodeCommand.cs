using Hawser.Shared.Cli;
using System.CommandLine;
using Hawser.Ctl.Output;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl node remove NAME</c>.</summary>
internal sealed class NodeCommand : Command
{
    public NodeCommand() : base("node", "Manage one node.")
    {
        var name = new Argument<string>("NAME") { Description = "The node." };
        var remove = new Command("remove", "Forget a node and revoke its certificates; its agent is disconnected and can re-enroll only with a new join token.") { name };
        CommandExamples.Set(remove, "hawserctl node remove web9");
        remove.SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            return await ControllerClient.RunAsync(parse, output, async (client, options) =>
            {
                var response = await client.RemoveNodeAsync(new RemoveNodeRequest { Name = parse.GetValue(name)! }, options);
                output.WriteLine($"removed {parse.GetValue(name)}; revoked {response.RevokedCertificates} certificate(s)");
                return ExitCodes.Ok;
            }, cancellationToken);
        });
        Subcommands.Add(remove);
    }
}
