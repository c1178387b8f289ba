using System.CommandLine;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Hawser.Ctl.Output;
using Hawser.Shared.Cli;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl events [--node N] [--kind K] [--since 1h] [--follow]</c>: the controller's event log.</summary>
internal sealed class EventsCommand : Command
{
    private readonly Option<string> _node = new("--node") { HelpName = "NODE", Description = "Only this node's events." };
    private readonly Option<string> _kind = new("--kind")
    {
        HelpName = "KIND",
        Description = "Only this kind (node.failed), or every kind of an area (node, spec, certificate, rollout, token, operator, web, rpc).",
    };
    private readonly Option<string> _actor = new("--actor")
    {
        HelpName = "NAME",
        Description = "Only what this actor did or was refused: an operator's name, node:NODE, or peer:ADDRESS.",
    };
    private readonly Option<TimeSpan> _since = Durations.Option("--since", "Only events of the last DURATION");
    private readonly Option<uint> _limit = new("--limit") { Description = "Show the newest this many (default 200, at most 10000)." };
    private readonly Option<bool> _follow = new("--follow", "-f")
    {
        Description = "Print events as they happen, from now until interrupted (with --since: those of that time first).",
    };

    public EventsCommand() : base("events", "The controller's event log, oldest first: applies, pushes, each node's converge results (every resource changed, " +
        "target: from -> to), drift corrected, failures, certificates, rollout steps, enrollments, tokens, logins and refusals, with time and actor.")
    {
        Options.Add(_node);
        Options.Add(_kind);
        Options.Add(_actor);
        Options.Add(_since);
        Options.Add(_limit);
        Options.Add(_follow);
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawserctl events --node web2 --since 1h", "hawserctl events --kind node.failed -o json", "hawserctl events --actor alice --since 24h", "hawserctl events --follow");
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        var request = new ListEventsRequest
        {
            Node = parse.GetValue(_node) ?? "",
            Kind = parse.GetValue(_kind) ?? "",
            Actor = parse.GetValue(_actor) ?? "",
            Limit = parse.GetValue(_limit),
        };
        if (parse.GetResult(_since) is not null)
        {
            request.Since = Timestamp.FromDateTime(DateTime.UtcNow - parse.GetValue(_since));
        }
        if (parse.GetValue(_follow))
        {
            var fromNow = parse.GetResult(_since) is null;
            return await ControllerClient.RunAsync(parse, output, async (client, options) =>
            {
                if (fromNow)
                {
                    // From now: after the newest event there is (the controller sends every one stored after it).
                    var newest = await client.ListEventsAsync(new ListEventsRequest { Limit = 1 }, options.WithDeadline(DateTime.UtcNow.AddSeconds(30)));
                    request.AfterId = newest.Events.Count > 0 ? newest.Events[^1].Id : 0;
                    output.WriteNote("following new events (Ctrl-C stops; --since 1h shows the last hour's first)");
                }
                using var call = client.WatchEvents(request, options);
                try
                {
                    await foreach (var e in call.ResponseStream.ReadAllAsync(cancellationToken))
                    {
                        Print(output, e, jsonLines: true);
                    }
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
                {
                    // Interrupted: a normal end of --follow.
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                }
                return ExitCodes.Ok;
            }, cancellationToken, Timeout.InfiniteTimeSpan);
        }
        return await ControllerClient.RunAsync(parse, output, async (client, options) =>
        {
            var response = await client.ListEventsAsync(request, options);
            var events = response.Events;
            if (output.Format == OutputFormat.Json)
            {
                output.WriteJson(new EventsOutput([.. events.Select(EventOutput.Of)]), CtlJsonContext.Default.EventsOutput);
                return ExitCodes.Ok;
            }
            if (events.Count == 0)
            {
                output.WriteLine("No events match.");
            }
            if (response.Omitted > 0)
            {
                output.WriteLine($"({response.Omitted} older matching event(s) did not fit one answer; narrow with --since, --node, --kind or --limit)");
            }
            foreach (var e in events)
            {
                Print(output, e, jsonLines: false);
            }
            return ExitCodes.Ok;
        }, cancellationToken);
    }

    /// <summary>One event: a line with time, kind, actor and summary, then its details indented; one JSON object per line with -o json --follow.</summary>
    private static void Print(ConsoleOutput output, Event e, bool jsonLines)
    {
        if (output.Format == OutputFormat.Json)
        {
            if (jsonLines)
            {
                output.WriteJsonLine(EventOutput.Of(e), CtlJsonContext.Default.EventOutput);
            }
            return;
        }
        var at = e.At.ToDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        output.WriteColoured($"{at}  {e.Kind,-22} {e.Actor,-14} {e.Summary}", Style(e.Kind));
        foreach (var detail in e.Details)
        {
            output.WriteLine($"    {detail}");
        }
    }

    private static string? Style(string kind) => kind switch
    {
        "node.failed" or "certificate.order-failed" => "red",
        "node.drift-corrected" or "rpc.refused" or "web.login-refused" => "yellow",
        _ => null,
    };
}
