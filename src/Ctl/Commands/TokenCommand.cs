using Hawser.Shared.Cli;
using System.CommandLine;
using Hawser.Ctl.Output;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl token create</c>: a join token for new agents.</summary>
internal sealed class TokenCommand : Command
{
    /// <summary>The most uses one token may have (the controller refuses more).</summary>
    public const uint MaxUses = 1_000_000;

    public TokenCommand() : base("token", "Join tokens for enrolling agents.")
    {
        var ttl = Durations.Option("--ttl", "How long the token is valid, at least 1s; default 1h", TimeSpan.FromHours(1), minimum: TimeSpan.FromSeconds(1));
        var uses = new Option<uint>("--uses")
        {
            Description = $"How many agents may join with it, 1 to {MaxUses}.",
            DefaultValueFactory = _ => 1,
            // Parsed here, not by the default converter: "-1", "1e3" and "4294967295" get one clear line, never an exception.
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
                if (!uint.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count) || count is < 1 or > MaxUses)
                {
                    result.AddError($"--uses must be at least 1 and a whole number up to {MaxUses} (got '{text}')");
                    return 0;
                }
                return count;
            },
        };
        var labels = new Option<string[]>("--labels") { Description = "Labels for nodes that join with it, key=value (repeat or separate with commas).", AllowMultipleArgumentsPerToken = true };
        var create = new Command("create", "Print a new join token, the controller CA's hash, and the hawser-agent command line that uses them.") { ttl, uses, labels };
        CommandExamples.Set(create, "hawserctl token create --uses 3 --ttl 2h --labels role=web");
        create.SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            var request = new CreateJoinTokenRequest { TtlSeconds = (uint)Math.Min(uint.MaxValue, parse.GetValue(ttl).TotalSeconds), Uses = parse.GetValue(uses) };
            if (!KeyValuePairs.TryAdd(parse.GetValue(labels), request.Labels, "--labels", output))
            {
                return ExitCodes.Usage;
            }
            return await ControllerClient.RunAsync(parse, output, async (client, options, controller) =>
            {
                var response = await client.CreateJoinTokenAsync(request, options);
                if (output.Format == OutputFormat.Json)
                {
                    output.WriteJson(new TokenOutput(response.Token, response.CaHash, response.ExpiresAt.ToDateTimeOffset()), CtlJsonContext.Default.TokenOutput);
                    return ExitCodes.Ok;
                }
                output.WriteLine($"token    {response.Token}");
                output.WriteLine($"ca-hash  {response.CaHash}");
                output.WriteLine($"expires  {response.ExpiresAt.ToDateTimeOffset():u}");
                // The URL hawserctl reached the controller at: the agents' address for it may differ (a NAT, a DNS name).
                output.WriteLine($"join:    hawser-agent run --controller {controller.GetLeftPart(UriPartial.Authority)} --node NAME --join-token {response.Token} --ca-hash {response.CaHash}");
                return ExitCodes.Ok;
            }, cancellationToken);
        });
        Subcommands.Add(create);

        var id = new Argument<string>("TOKEN") { Description = "The token, or its id (the part before the dot)." };
        var revoke = new Command("revoke", "Revoke a join token: agents can no longer enroll with it. Enrolled nodes keep their certificates.") { id };
        revoke.SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            return await ControllerClient.RunAsync(parse, output, async (client, options) =>
            {
                await client.RevokeJoinTokenAsync(new RevokeJoinTokenRequest { Id = parse.GetValue(id)! }, options);
                output.WriteLine($"revoked join token {parse.GetValue(id)!.Split('.')[0]}");
                return ExitCodes.Ok;
            }, cancellationToken);
        });
        Subcommands.Add(revoke);
    }
}
