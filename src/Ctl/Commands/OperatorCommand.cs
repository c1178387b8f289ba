using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Hawser.Ctl.Configuration;
using Hawser.Ctl.Output;
using Hawser.Shared.Cli;
using Hawser.Shared.Pki;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Transport;
using Spectre.Console;

namespace Hawser.Ctl.Commands;

/// <summary>
/// <c>hawserctl operator add|list|revoke|rotate|enroll</c>: the people and machines that steer the fleet, each with a role
/// (viewer, operator, admin) and optionally a scope of nodes by labels. A key is always made on the machine that uses it.
/// </summary>
internal sealed class OperatorCommand : Command
{
    private static readonly Option<TimeSpan> TokenTtl = Durations.Option("--ttl", "How long the enrollment token is valid, at least 1m, at most 30d; default 24h",
        TimeSpan.FromHours(24), minimum: TimeSpan.FromMinutes(1));

    public OperatorCommand() : base("operator", "Operators: named people and machines (CI) with a role and a scope. " +
        "viewer: every read; operator: also apply, diff, rollouts, certificate renewal; admin: also join tokens, operators, node removal.")
    {
        Subcommands.Add(Add());
        Subcommands.Add(List());
        Subcommands.Add(Revoke());
        Subcommands.Add(Rotate());
        Subcommands.Add(Enroll());
    }

    private static Command Add()
    {
        var name = new Argument<string>("NAME") { Description = "The operator's name (alice, ci-deploy, bob@example.org): the actor of everything it does." };
        var role = new Option<string>("--role")
        {
            Description = "viewer, operator or admin.", Required = true, HelpName = "ROLE",
            CustomParser = result => result.Tokens.Single().Value is var word && word is "viewer" or "operator" or "admin" ? word
                : Refuse(result, $"--role '{word}' is not a role; give viewer, operator or admin"),
        };
        var selector = new Option<string[]>("--selector", "-l")
        {
            HelpName = "k=v,...",
            Description = "Scope: only nodes with these labels, key=value (repeat or separate with commas); the operator sees and changes no other node.",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("add", "Add an operator and print a one-use enrollment token; the operator runs `hawserctl operator enroll` with it " +
            "on their own machine, which makes their key there and fetches their certificate. Admins only.") { name, role, selector, TokenTtl };
        CommandExamples.Set(command, "hawserctl operator add alice --role viewer", "hawserctl operator add ci-deploy --role operator --selector role=web --ttl 1h");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            var request = new AddOperatorRequest { Name = parse.GetValue(name)!, Role = parse.GetValue(role)!, TokenTtlSeconds = Seconds(parse.GetValue(TokenTtl)) };
            if (!KeyValuePairs.TryAdd(parse.GetValue(selector), request.Selector, "--selector", output))
            {
                return ExitCodes.Usage;
            }
            return await ControllerClient.RunAsync(parse, output, async (client, options, controller) =>
            {
                PrintEnrollment(output, await client.AddOperatorAsync(request, options), controller,
                    $"added operator {request.Name}: {request.Role} of {(request.Selector.Count == 0 ? "all nodes" : string.Join(",", request.Selector.Select(s => $"{s.Key}={s.Value}")))}");
                return ExitCodes.Ok;
            }, cancellationToken);
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List operators: role, scope, live certificates and when the latest expires, revoked or live. Admins only.");
        CommandExamples.Set(command, "hawserctl operator list", "hawserctl operator list -o json");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            return await ControllerClient.RunAsync(parse, output, async (client, options) =>
            {
                var operators = (await client.ListOperatorsAsync(new ListOperatorsRequest(), options)).Operators.Select(o => new OperatorOutput(
                    o.Name, o.Role, o.Selector.ToDictionary(), o.RevokedAt is null ? "live" : "revoked", (int)o.Certificates, o.NotAfter?.ToDateTimeOffset(),
                    o.CreatedAt.ToDateTimeOffset(), o.RevokedAt?.ToDateTimeOffset())).ToList();
                if (output.Format == OutputFormat.Json)
                {
                    output.WriteJson<IReadOnlyList<OperatorOutput>>(operators, CtlJsonContext.Default.IReadOnlyListOperatorOutput);
                    return ExitCodes.Ok;
                }
                var table = new Table().Border(TableBorder.Simple).AddColumns("NAME", "ROLE", "SCOPE", "STATE", "CERTIFICATES", "EXPIRES");
                foreach (var o in operators)
                {
                    table.AddRow(ConsoleOutput.Cell(o.Name), o.Role, ConsoleOutput.Cell(o.Selector.Count == 0 ? "all nodes" : string.Join(",", o.Selector.Select(s => $"{s.Key}={s.Value}"))),
                        o.State, o.Certificates.ToString(System.Globalization.CultureInfo.InvariantCulture), o.NotAfter is { } end ? end.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) : "-");
                }
                output.WriteTable(table);
                return ExitCodes.Ok;
            }, cancellationToken);
        });
        return command;
    }

    private static Command Revoke()
    {
        var name = new Argument<string>("NAME") { Description = "The operator to revoke." };
        var command = new Command("revoke", "Revoke an operator: its certificates and enrollment token are refused from now on, on every controller. " +
            "Its name stays in the event log. Admins only.") { name };
        CommandExamples.Set(command, "hawserctl operator revoke alice");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            return await ControllerClient.RunAsync(parse, output, async (client, options) =>
            {
                await client.RevokeOperatorAsync(new RevokeOperatorRequest { Name = parse.GetValue(name)! }, options);
                output.WriteLine($"revoked operator {parse.GetValue(name)}: its certificates are refused from now on");
                return ExitCodes.Ok;
            }, cancellationToken);
        });
        return command;
    }

    private static Command Rotate()
    {
        var name = new Argument<string>("NAME") { Description = "Another operator (admins only); omit it to rotate your own key.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("rotate", "Without NAME: make a new key here, get its certificate, switch this config to it, and revoke your old " +
            "certificate. With another operator's NAME (admins): revoke their certificates and print a new enrollment token for them.") { name, TokenTtl };
        CommandExamples.Set(command, "hawserctl operator rotate", "hawserctl operator rotate alice --ttl 2h");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            var configPath = parse.GetValue(CtlOptions.Config)!;
            return await ControllerClient.RunAsync(parse, output, async (client, options, controller) =>
            {
                var self = await client.WhoAmIAsync(new WhoAmIRequest(), options);
                if (parse.GetValue(name) is { } other && other != self.Name)
                {
                    PrintEnrollment(output, await client.ReissueOperatorAsync(new ReissueOperatorRequest { Name = other, TokenTtlSeconds = Seconds(parse.GetValue(TokenTtl)) }, options),
                        controller, $"revoked operator {other}'s certificates; a new enrollment token for them");
                    return ExitCodes.Ok;
                }
                var replaced = CtlConfig.Load(configPath)!;
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var issued = await client.RotateOwnCertificateAsync(new RotateOwnCertificateRequest
                {
                    CsrDer = Google.Protobuf.ByteString.CopyFrom(CertificateAuthority.CreateSigningRequest(key, self.Name)),
                }, options);
                return Save(output, configPath, controller, issued, key, replaced);
            }, cancellationToken);
        });
        return command;
    }

    private static Command Enroll()
    {
        var token = new Option<string>("--token") { Description = "The one-use enrollment token an admin gave you (`operator add`).", Required = true, HelpName = "TOKEN" };
        var caHash = new Option<string>("--ca-hash") { Description = "The controller CA's hash the admin gave you (sha256:...): the CA is trusted only if it matches.", Required = true, HelpName = "HASH" };
        var force = new Option<bool>("--force") { Description = "Replace the config at --config if one exists." };
        var command = new Command("enroll", "Become an operator: make your key on this machine, fetch its certificate with the enrollment token, " +
            "and write your hawserctl config (--config; default ~/.config/hawser/hawserctl.yaml) beside it. Needs --controller.") { token, caHash, force };
        CommandExamples.Set(command, "hawserctl operator enroll --controller https://ctl.example.org:7443 --token abc123.xyz --ca-hash sha256:3f1c...");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            var configPath = parse.GetValue(CtlOptions.Config)!;
            if (parse.GetValue(CtlOptions.Controller) is not { Scheme: "https" } controller)
            {
                output.WriteError("give the controller's https:// URL with --controller (the admin's `operator add` printed it)", "Usage");
                return ExitCodes.Usage;
            }
            if (File.Exists(configPath) && !parse.GetValue(force))
            {
                output.WriteError($"{configPath} exists; nothing was changed. Give another --config FILE, or --force to replace it.", "ConfigExists");
                return ExitCodes.Usage;
            }
            return await EnrollAsync(output, configPath, controller, parse.GetValue(token)!, parse.GetValue(caHash)!, cancellationToken);
        });
        return command;
    }

    private static async Task<int> EnrollAsync(ConsoleOutput output, string configPath, Uri controller, string token, string caHash, CancellationToken cancellationToken)
    {
        PinnedTrust.ExcludeSystemRoots();
        var deadline = new CallOptions(deadline: DateTime.UtcNow + ControllerClient.CallTimeout, cancellationToken: cancellationToken);
        try
        {
            // First contact trusts nothing: fetch the CA, then check it against the hash the admin gave.
            X509Certificate2 ca;
            using (var insecure = ControllerChannel.Create(controller, new ControllerChannelOptions { ServerCertificateOverride = _ => true, ConnectTimeout = TimeSpan.FromSeconds(5) }))
            {
                ca = X509Certificate2.CreateFromPem((await new EnrollmentService.EnrollmentServiceClient(insecure).GetCaAsync(new GetCaRequest(), deadline)).CaPem);
            }
            using var _ = ca;
            if (!CaHash.Matches(ca, caHash))
            {
                output.WriteError($"the controller at {controller} presents CA {CaHash.Of(ca)}, not {caHash}; refusing to enroll with it", "CaMismatch");
                return ExitCodes.Failed;
            }
            using var verified = ControllerChannel.Create(controller, new ControllerChannelOptions { TrustedCa = ca, ConnectTimeout = TimeSpan.FromSeconds(5) });
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var issued = await new EnrollmentService.EnrollmentServiceClient(verified).EnrollOperatorAsync(new EnrollOperatorRequest
            {
                Token = token, CsrDer = Google.Protobuf.ByteString.CopyFrom(CertificateAuthority.CreateSigningRequest(key, "operator")),
            }, deadline);
            return Save(output, configPath, controller, issued, key, replaced: null);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            output.WriteError($"cannot reach the controller at {controller}: {RpcFailure.Describe(ex)}", ex.StatusCode.ToString());
            return ExitCodes.Unreachable;
        }
        catch (RpcException ex)
        {
            output.WriteError($"the controller refused: {ex.Status.Detail} ({ex.StatusCode})", ex.StatusCode.ToString());
            return ExitCodes.Failed;
        }
    }

    private static int Save(ConsoleOutput output, string configPath, Uri controller, OperatorCertificate issued, ECDsa key, CtlConfig? replaced)
    {
        var (certificate, keyPath) = OperatorCredentialFiles.Write(configPath, controller, issued.Name, issued.CaPem, issued.CertificatePem, key.ExportPkcs8PrivateKeyPem());
        if (replaced is not null)
        {
            OperatorCredentialFiles.Remove(configPath, issued.Name, replaced);
        }
        var result = new OperatorCredentialOutput(issued.Name, issued.Role, Path.GetFullPath(configPath), certificate, keyPath, issued.NotAfter.ToDateTimeOffset());
        if (output.Format == OutputFormat.Json)
        {
            output.WriteJson(result, CtlJsonContext.Default.OperatorCredentialOutput);
            return ExitCodes.Ok;
        }
        output.WriteLine($"operator     {result.Name} ({result.Role})");
        output.WriteLine($"certificate  {result.Certificate} (until {result.NotAfter:yyyy-MM-dd})");
        output.WriteLine($"key          {result.Key} (made here, 0600; it never left this machine)");
        output.WriteLine($"config       {result.Config}");
        return ExitCodes.Ok;
    }

    private static void PrintEnrollment(ConsoleOutput output, OperatorEnrollment enrollment, Uri controller, string headline)
    {
        var enroll = $"hawserctl operator enroll --controller {controller.GetLeftPart(UriPartial.Authority)} --token {enrollment.Token} --ca-hash {enrollment.CaHash}";
        if (output.Format == OutputFormat.Json)
        {
            output.WriteJson(new OperatorEnrollmentOutput(enrollment.Name, enrollment.Token, enrollment.CaHash, enrollment.ExpiresAt.ToDateTimeOffset(), enroll), CtlJsonContext.Default.OperatorEnrollmentOutput);
            return;
        }
        output.WriteLine(headline);
        output.WriteLine($"token    {enrollment.Token} (one use)");
        output.WriteLine($"expires  {enrollment.ExpiresAt.ToDateTimeOffset():u}");
        output.WriteLine($"on {enrollment.Name}'s machine (their key is made there):");
        output.WriteLine($"  {enroll}");
    }

    private static uint Seconds(TimeSpan ttl) => (uint)Math.Min(uint.MaxValue, ttl.TotalSeconds);

    private static string Refuse(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return "";
    }
}
