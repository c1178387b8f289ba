using System.CommandLine;
using Hawser.Ctl.Output;
using Hawser.Shared.Cli;
using Hawser.Shared.Protocol.V1;
using Spectre.Console;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl notifications</c>: the controller's notification receivers with their last delivery and failures; <c>test NAME</c> sends a sample.</summary>
internal sealed class NotificationsCommand : Command
{
    public NotificationsCommand() : base("notifications",
        "List the notification receivers (the controller's --notifications file) with their last delivery, what waits and what failed.")
    {
        CommandExamples.Set(this, "hawserctl notifications", "hawserctl notifications test oncall");
        SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            return await ControllerClient.RunAsync(parse, output, async (client, options) =>
            {
                var list = await client.ListReceiversAsync(new ListReceiversRequest(), options);
                if (output.Format == OutputFormat.Json)
                {
                    output.WriteJson(new ReceiversOutput(list.Enabled, [.. list.Receivers.Select(r => new ReceiverOutput(r.Name, r.Format, r.Url,
                        r.LastDelivered?.ToDateTimeOffset(), r.Delivered, r.Pending, r.FailedAttempts, r.Undeliverable, r.LastError.Length > 0 ? r.LastError : null, [.. r.Routes]))]),
                        CtlJsonContext.Default.ReceiversOutput);
                    return ExitCodes.Ok;
                }
                if (!list.Enabled)
                {
                    output.WriteLine("notifications are off: start the controller with --notifications FILE (see the README's Alerts and notifications)");
                    return ExitCodes.Ok;
                }
                var table = new Table().Border(TableBorder.None)
                    .AddColumns("RECEIVER", "FORMAT", "URL", "LAST DELIVERED", "DELIVERED", "PENDING", "FAILED", "UNDELIVERABLE", "ROUTES");
                foreach (var r in list.Receivers)
                {
                    table.AddRow(ConsoleOutput.Cell(r.Name), r.Format, ConsoleOutput.Cell(r.Url),
                        r.LastDelivered is { } last ? $"{last.ToDateTimeOffset().UtcDateTime:yyyy-MM-dd HH:mm:ss}Z" : "never",
                        $"{r.Delivered}", $"{r.Pending}", $"{r.FailedAttempts}", r.Undeliverable > 0 ? $"[red]{r.Undeliverable}[/]" : "0",
                        ConsoleOutput.Cell(string.Join(",", r.Routes)));
                }
                output.WriteTable(table);
                foreach (var r in list.Receivers.Where(r => r.LastError.Length > 0))
                {
                    output.WriteLine($"{r.Name}: last failure: {r.LastError}");
                }
                return ExitCodes.Ok;
            }, cancellationToken);
        });

        var name = new Argument<string>("RECEIVER") { Description = "The receiver's name in the controller's notifications file." };
        var test = new Command("test", "Send a sample notification (kind notification.test) to one receiver now, and say whether it took it (exit 0) or why not (exit 1).") { name };
        CommandExamples.Set(test, "hawserctl notifications test oncall");
        test.SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            var receiver = parse.GetValue(name)!;
            return await ControllerClient.RunAsync(parse, output, async (client, options) =>
            {
                var result = await client.TestReceiverAsync(new TestReceiverRequest { Name = receiver }, options);
                if (output.Format == OutputFormat.Json)
                {
                    output.WriteJson(new ReceiverTestOutput(receiver, result.Delivered, result.Id, result.Error.Length > 0 ? result.Error : null), CtlJsonContext.Default.ReceiverTestOutput);
                }
                else
                {
                    output.WriteLine(result.Delivered ? $"{receiver} took the test notification {result.Id}" : $"{receiver} did not take the test notification: {result.Error}");
                }
                return result.Delivered ? ExitCodes.Ok : ExitCodes.Failed;
            }, cancellationToken);
        });
        Subcommands.Add(test);
    }
}
