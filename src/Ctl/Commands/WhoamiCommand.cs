using System.CommandLine;
using Hawser.Ctl.Output;
using Hawser.Shared.Cli;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl whoami</c>: the operator this config's credential is, its role and scope, as the controller sees them now.</summary>
internal sealed class WhoamiCommand : Command
{
    public WhoamiCommand() : base("whoami", "Print who the controller takes you for: your operator name, role (viewer, operator, admin) and scope.")
    {
        CommandExamples.Set(this, "hawserctl whoami", "hawserctl whoami -o json");
        SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            return await ControllerClient.RunAsync(parse, output, async (client, options) =>
            {
                var me = await client.WhoAmIAsync(new WhoAmIRequest(), options);
                if (output.Format == OutputFormat.Json)
                {
                    output.WriteJson(new WhoAmIOutput(me.Name, me.Role, me.Selector.ToDictionary(), me.CertificateSerial), CtlJsonContext.Default.WhoAmIOutput);
                    return ExitCodes.Ok;
                }
                var scope = me.Selector.Count == 0 ? "all nodes" : "nodes with " + string.Join(",", me.Selector.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}"));
                output.WriteLine($"{me.Name}: {me.Role} of {scope} (certificate {me.CertificateSerial})");
                return ExitCodes.Ok;
            }, cancellationToken);
        });
    }
}
