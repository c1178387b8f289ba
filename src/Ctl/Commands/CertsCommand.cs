using Hawser.Shared.Cli;
using System.CommandLine;
using System.Globalization;
using Hawser.Ctl.Output;
using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;
using Spectre.Console;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl certs</c> and <c>certs renew NAME</c>: the certificates the controller obtains with ACME.</summary>
internal sealed class CertsCommand : Command
{
    /// <summary>An order waits for the CA and every node; give it longer than a plain call.</summary>
    private static readonly TimeSpan RenewTimeout = TimeSpan.FromMinutes(5);

    public CertsCommand() : base("certs", "List the certificates the controller obtains with ACME: domains, each node and how far the current serial got "
        + "(served: a server the agent checked serves it; installed: on disk, no server checked; failed, with why below the table), serial, expiry, next renewal, last error.")
    {
        SetAction((parse, cancellationToken) => ListAsync(parse, cancellationToken));
        var name = new Argument<string>("NAME") { Description = "The spec's certificate name." };
        var noWait = new Option<bool>("--no-wait") { Description = "Exit once the certificate is issued and sent, without waiting for the nodes' reports." };
        var force = new Option<bool>("--force")
        {
            Description = "Order even when the breaker refuses (a fourth order for the same names within a week, or within one lifetime of a shorter certificate) "
                + "or the CA's rate limit has not passed.",
        };
        var waitTimeout = Durations.Option("--wait-timeout", "How long each node has to report the new serial installed; default 2m", TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(1));
        var renew = new Command("renew", "Order the certificate now (whatever its expiry), wait for it, deliver it to its nodes and wait until each reports it installed: " +
            "a recap per node, exit 0 all installed, 1 a node failed, 4 a node did not report in time.") { name, waitTimeout, noWait, force };
        CommandExamples.Set(renew, "hawserctl certs renew www", "hawserctl certs renew www --force");
        renew.SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            return await ControllerClient.RunAsync(parse, output, async (client, options) =>
            {
                var certificate = await client.RenewCertificateAsync(new RenewCertificateRequest { Name = parse.GetValue(name)!, Force = parse.GetValue(force) }, options);
                if (output.Format != OutputFormat.Json)
                {
                    output.WriteLine($"{certificate.Name}: serial {certificate.Serial}, valid until {certificate.NotAfter.ToDateTimeOffset():u}, sent to {string.Join(", ", certificate.Nodes)}");
                }
                if (parse.GetValue(noWait))
                {
                    if (output.Format == OutputFormat.Json)
                    {
                        output.WriteJson(ToOutput(certificate), CtlJsonContext.Default.CertificateOutput);
                    }
                    return ExitCodes.Ok;
                }
                // Done when each node's report finds the new serial installed, or its certificate resource failed.
                var outcomes = await ConvergeRecap.WaitAsync(client, certificate.Nodes.ToDictionary(n => n, _ => 0UL, StringComparer.Ordinal),
                    (node, _) => node.InstalledCertificates.GetValueOrDefault(certificate.Name) == certificate.Serial
                        || node.LastReportAt?.ToDateTimeOffset() > certificate.IssuedAt?.ToDateTimeOffset() && node.Resources.Any(r => r.Kind == "certificate"
                            && r.Name == certificate.Name && StateWords.IsFailed(r.State) && !StateWords.AwaitsCertificateMaterial(r)),
                    parse.GetValue(waitTimeout), output, cancellationToken, readWhole: true);
                if (output.Format == OutputFormat.Json)
                {
                    output.WriteJson(ToOutput(certificate), CtlJsonContext.Default.CertificateOutput);
                }
                return ConvergeRecap.Print(output, $"certificate {certificate.Name} serial {certificate.Serial}", outcomes);
            }, cancellationToken, RenewTimeout);
        });
        Subcommands.Add(renew);
    }

    private static async Task<int> ListAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        return await ControllerClient.RunAsync(parse, output, async (client, options) =>
        {
            var certificates = (await client.ListCertificatesAsync(new ListCertificatesRequest(), options)).Certificates;
            if (output.Format == OutputFormat.Json)
            {
                output.WriteJson(new CertificatesOutput([.. certificates.Select(ToOutput)]), CtlJsonContext.Default.CertificatesOutput);
                return ExitCodes.Ok;
            }
            if (certificates.Count == 0)
            {
                output.WriteLine("The latest revision asks for no certificates (a certificates: entry without source:, and an acme: block).");
                return ExitCodes.Ok;
            }
            // On 80 columns: when it ends, when it renews and what went wrong stay; the serial and the domains give way first.
            var table = new Table().Border(TableBorder.Simple).AddColumns("NAME", "NOT AFTER", "RENEW AT", "NODES", "LAST ERROR", "DOMAINS", "SERIAL");
            foreach (var c in certificates)
            {
                table.AddRow(ConsoleOutput.Cell(c.Name), Time(c.NotAfter), Time(c.RenewAt), ConsoleOutput.Cell(NodesColumn(c)),
                    ConsoleOutput.Cell(c.LastError.Length > 0 ? c.LastError + (c.NextAttempt is { } next ? $" (next attempt {Time(next)})" : "") : "-"),
                    ConsoleOutput.Cell(string.Join(", ", c.Domains)), c.Serial.Length > 0 ? c.Serial : "-");
            }
            output.WriteTable(table, new TableLayout([6, 5], new HashSet<int> { 4 }));
            // Why a node failed is too long for a cell, and it is what the operator needs next.
            foreach (var c in certificates)
            {
                foreach (var (node, error) in c.NodeErrors.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    output.WriteLine(ConsoleOutput.Cell($"{c.Name} on {node}: {error}"));
                }
            }
            return ExitCodes.Ok;
        }, cancellationToken);
    }

    /// <summary>Each node and how far the current serial got (<see cref="CertificateNodeWords"/>).</summary>
    internal static string NodesColumn(Certificate c) => string.Join(", ", c.Nodes.Select(node => $"{node} {CertificateNodeWords.Of(c, node)}"));

    private static string Time(Google.Protobuf.WellKnownTypes.Timestamp? time) =>
        time is null ? "-" : time.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture);

    private static CertificateOutput ToOutput(Certificate c) => new(c.Name, [.. c.Domains], [.. c.Nodes], c.Serial.Length > 0 ? c.Serial : null,
        c.NotAfter?.ToDateTimeOffset(), c.RenewAt?.ToDateTimeOffset(), c.LastError.Length > 0 ? c.LastError : null, new Dictionary<string, string>(c.Installed),
        [.. c.Served.Select(s => new ServedOutput(s.Node, s.Target, s.Serial.Length > 0 ? s.Serial : null, s.NotAfter?.ToDateTimeOffset(), s.CoversName,
            s.Error.Length > 0 ? s.Error : null))],
        new Dictionary<string, string>(c.NodeErrors), c.NextAttempt?.ToDateTimeOffset(), c.Issuer.Length > 0 ? c.Issuer : null);
}
