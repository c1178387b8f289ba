using Hawser.Shared.Protocol;
using Hawser.Shared.Cli;
using System.CommandLine;
using System.Globalization;
using Hawser.Ctl.Output;
using Hawser.Shared.Protocol.V1;
using Grpc.Core;
using Spectre.Console;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl rollout start|status|list|pause|resume|abort|promote|rollback</c>: roll a revision across nodes in batches.</summary>
internal sealed class RolloutCommand : Command
{
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(500);

    public RolloutCommand() : base("rollout", "Roll a stored revision across nodes in batches with health gates; watch, pause, resume, abort, promote or roll back.")
    {
        var rolloutOptions = new RolloutOptionSet();
        var revision = new Argument<ulong>("REVISION") { Description = "The stored revision to roll out (hawserctl revisions)." };
        var start = new Command("start", "Start rolling REVISION out; nodes outside the rollout keep what they run.") { revision };
        CommandExamples.Set(start, "hawserctl rollout start 7 --batch 2 --pause 30s --on-failure rollback", "hawserctl rollout start 7 --canary --check \"http://{address}/health\" --hold 1m");
        rolloutOptions.AddTo(start);
        var watch = new Option<bool>("--watch", "-w")
        {
            Description = "Follow it until it is done, rolled back or aborted (through pauses: it goes on when resumed), then print a recap per node; " +
                "exit 0 only when done with every node converged, " +
                "1 when a node failed or the rollout stopped short, 4 when a node did not report.",
        };
        start.Options.Add(watch);
        start.SetAction((parse, cancellationToken) => CallAsync(parse, (client, options) =>
            client.StartRolloutAsync(new StartRolloutRequest { Revision = parse.GetValue(revision), Options = rolloutOptions.Read(parse) }, options).ResponseAsync,
            cancellationToken, parse.GetValue(watch)));
        Subcommands.Add(start);

        var id = new Argument<ulong>("ID") { Description = "The rollout (default: the newest).", Arity = ArgumentArity.ZeroOrOne };
        var follow = new Option<bool>("--watch", "-w") { Description = watch.Description };
        var status = new Command("status", "One rollout: its state, batch and each node's state.") { id, follow };
        CommandExamples.Set(status, "hawserctl rollout status --watch", "hawserctl rollout status 3 -o json");
        status.SetAction((parse, cancellationToken) => StatusAsync(parse, parse.GetValue(id), parse.GetValue(follow), cancellationToken));
        Subcommands.Add(status);

        var list = new Command("list", "Every rollout, newest first.");
        list.SetAction((parse, cancellationToken) => ListAsync(parse, cancellationToken));
        Subcommands.Add(list);

        foreach (var (action, description) in new[]
        {
            ("pause", "Stop after the current step; nodes stay where they are."),
            ("resume", "Continue a paused rollout; failures so far are accepted."),
            ("abort", "Stop for good where it stands."),
            ("promote", "Skip the remaining pauses between batches."),
            ("rollback", "Return every moved node to its previous revision, batch by batch, through the same gates."),
        })
        {
            var target = new Argument<ulong>("ID") { Description = "The rollout." };
            var command = new Command(action, description) { target };
            command.SetAction((parse, cancellationToken) => CallAsync(parse, (client, options) =>
                client.ControlRolloutAsync(new ControlRolloutRequest { Id = parse.GetValue(target), Action = action }, options).ResponseAsync, cancellationToken));
            Subcommands.Add(command);
        }
    }

    private static async Task<int> CallAsync(ParseResult parse, Func<ControlService.ControlServiceClient, CallOptions, Task<Rollout>> call, CancellationToken cancellationToken,
        bool watch = false)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        return await ControllerClient.RunAsync(parse, output, async (client, options) =>
        {
            try
            {
                var rollout = await call(client, options.WithDeadline(DateTime.UtcNow + ControllerClient.CallTimeout));
                if (watch)
                {
                    return await WatchAsync(client, output, rollout, options, cancellationToken);
                }
                Write(output, rollout);
                return ExitCodes.Ok;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.FailedPrecondition or StatusCode.NotFound)
            {
                output.WriteError(ex.Status.Detail, "RolloutRefused");
                return ExitCodes.Failed;
            }
        }, cancellationToken, watch ? Timeout.InfiniteTimeSpan : null);
    }

    private static async Task<int> StatusAsync(ParseResult parse, ulong id, bool watch, CancellationToken cancellationToken)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        return await ControllerClient.RunAsync(parse, output, async (client, options) =>
        {
            Rollout rollout;
            try
            {
                rollout = await client.GetRolloutAsync(new GetRolloutRequest { Id = id }, options.WithDeadline(DateTime.UtcNow.AddSeconds(30)));
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
                output.WriteError(ex.Status.Detail, "NoRollout");
                return ExitCodes.Failed;
            }
            if (!watch)
            {
                Write(output, rollout);
                return ExitCodes.Ok;
            }
            return await WatchAsync(client, output, rollout, options, cancellationToken);
        }, cancellationToken, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Follows a rollout: one line per change, as it happens, then the final table and the recap per node. Exit 0 only
    /// when it is done with every node converged; 1 when a node failed or it stopped short; 4 when a node did not report.
    /// </summary>
    private static async Task<int> WatchAsync(ControlService.ControlServiceClient client, ConsoleOutput output, Rollout rollout, CallOptions options, CancellationToken cancellationToken)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            Progress(output, rollout, seen);
            // A pause is not an end: someone resumes, rolls back or aborts it, and the watch shows what follows.
            if (rollout.State is not ("running" or "rolling-back" or "paused"))
            {
                break;
            }
            await Task.Delay(WatchInterval, cancellationToken);
            rollout = await client.GetRolloutAsync(new GetRolloutRequest { Id = rollout.Id }, options.WithDeadline(DateTime.UtcNow.AddSeconds(30)));
        }
        // The reason was printed as the state changed; the table follows without repeating it.
        Write(output, rollout, reasonShown: true);
        var listOptions = options.WithDeadline(DateTime.UtcNow.AddSeconds(30));
        var nodes = (await client.ListAllNodesAsync(new ListNodesRequest(), listOptions)).ToDictionary(n => n.Name, StringComparer.Ordinal);
        foreach (var name in nodes.Keys.ToList())
        {
            nodes[name] = await NodeOutcome.DetailAsync(client, nodes[name], listOptions, nodes.Count <= ConvergeRecap.ChangesListedUpTo);
        }
        var outcomes = rollout.Nodes.OrderBy(n => n.Node, StringComparer.Ordinal).Select(n => Recap(n, nodes.TryGetValue(n.Node, out var node) ? NodeOutcome.From(node) : null, rollout.State)).ToList();
        var code = ConvergeRecap.Print(output, $"rollout {rollout.Id} (revision {rollout.Revision}): {rollout.State}", outcomes);
        return rollout.State == "done" ? code : ExitCodes.Failed;
    }

    private static async Task<int> ListAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        return await ControllerClient.RunAsync(parse, output, async (client, options) =>
        {
            var rollouts = (await client.ListRolloutsAsync(new ListRolloutsRequest(), options)).Rollouts;
            if (output.Format == OutputFormat.Json)
            {
                output.WriteJson(new RolloutsOutput([.. rollouts.Select(ToOutput)]), CtlJsonContext.Default.RolloutsOutput);
                return ExitCodes.Ok;
            }
            if (rollouts.Count == 0)
            {
                output.WriteLine("No rollouts yet (hawserctl rollout start REVISION, or apply --rollout).");
                return ExitCodes.Ok;
            }
            var table = new Table().Border(TableBorder.Simple).AddColumns("ID", "STATE", "REVISION", "BATCH", "NODES", "STARTED", "REASON");
            foreach (var r in rollouts)
            {
                table.AddRow(r.Id.ToString(CultureInfo.InvariantCulture), r.State, r.Revision.ToString(CultureInfo.InvariantCulture), BatchWords(r),
                    r.Nodes.Count.ToString(CultureInfo.InvariantCulture), r.CreatedAt?.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture) ?? "-", ConsoleOutput.Cell(r.Reason));
            }
            // The reason wraps rather than going: it is why a rollout stopped.
            output.WriteTable(table, new TableLayout([5, 4], new HashSet<int> { 6 }));
            return ExitCodes.Ok;
        }, cancellationToken);
    }

    /// <summary>
    /// Prints what changed since the last look, each line with its time (UTC): each node's state first, then the
    /// rollout's, so "done" comes after the last node; while the next batch waits, a countdown every 10 s.
    /// </summary>
    private static void Progress(ConsoleOutput output, Rollout rollout, Dictionary<string, string> seen)
    {
        if (output.Format == OutputFormat.Json)
        {
            return;
        }
        var now = DateTimeOffset.UtcNow;
        var stamp = now.ToString("HH:mm:ss'Z' ", CultureInfo.InvariantCulture);
        foreach (var node in rollout.Nodes)
        {
            var line = $"  {node.Node}: {node.State}" + (Detail(node) is { Length: > 0 } detail ? $" ({detail})" : "");
            if (seen.GetValueOrDefault(node.Node) != line)
            {
                output.WriteLine(stamp + line);
                seen[node.Node] = line;
            }
        }
        var head = $"rollout {rollout.Id}: {rollout.State}, {BatchWords(rollout)}" + (rollout.Reason.Length > 0 ? $" ({rollout.Reason})" : "");
        if (seen.GetValueOrDefault("") != head)
        {
            output.WriteLine(stamp + head);
            seen[""] = head;
        }
        if (rollout.State == "paused" && seen.GetValueOrDefault("paused") != head)
        {
            output.WriteLine($"{stamp}  still watching: it goes on when resumed (hawserctl rollout resume|rollback|abort {rollout.Id}; Ctrl-C stops watching, not the rollout)");
            seen["paused"] = head;
        }
        if (rollout.State == "running" && rollout.NextBatchAt?.ToDateTimeOffset() is { } next && next > now)
        {
            var left = TimeSpan.FromSeconds(Math.Ceiling((next - now).TotalSeconds));
            var bucket = $"{next:O}/{(int)left.TotalSeconds / 10}";
            if (seen.GetValueOrDefault("countdown") != bucket)
            {
                output.WriteLine($"{stamp}  next batch in {Durations.Format(left)}");
                seen["countdown"] = bucket;
            }
        }
    }

    /// <summary>"batch 2 of 3": the one way every command and the web UI say where a rollout is.</summary>
    internal static string BatchWords(Rollout rollout) => $"batch {Math.Min(rollout.Batch + 1, rollout.Batches)} of {rollout.Batches}";

    private static void Write(ConsoleOutput output, Rollout rollout, bool reasonShown = false)
    {
        if (output.Format == OutputFormat.Json)
        {
            output.WriteJson(ToOutput(rollout), CtlJsonContext.Default.RolloutOutput);
            return;
        }
        // A paused rollout has no next batch until it is resumed: its time is not printed.
        output.WriteLine($"rollout {rollout.Id}: revision {rollout.Revision}, {rollout.State}, {BatchWords(rollout)}"
            + (rollout.Promoted ? ", promoted" : "")
            + (rollout.State == "running" && rollout.NextBatchAt is { } next ? $", next batch at {next.ToDateTimeOffset():u}" : ""));
        if (rollout.Reason.Length > 0 && !reasonShown)
        {
            output.WriteLine($"  {rollout.Reason}");
        }
        var table = new Table().Border(TableBorder.Simple).AddColumns("NODE", "BATCH", "STATE", "FROM", "DETAIL");
        foreach (var node in rollout.Nodes)
        {
            table.AddRow(ConsoleOutput.Cell(node.Node), (node.Batch + 1).ToString(CultureInfo.InvariantCulture), node.State,
                node.PreviousRevision.ToString(CultureInfo.InvariantCulture), ConsoleOutput.Cell(Detail(node) is { Length: > 0 } detail ? detail : "-"));
        }
        // The detail wraps rather than going: it says why a node failed.
        output.WriteTable(table, new TableLayout([3, 1], new HashSet<int> { 4 }));
    }

    /// <summary>
    /// A rollout node's recap line: the counts of what its revision did (a node that failed a check still applied its
    /// resources), failed when it failed or did not return cleanly, with why.
    /// </summary>
    private static NodeOutcome Recap(RolloutNode n, NodeOutcome? converged, string rolloutState)
    {
        var failedToReturn = n.State == "returned" && n.Detail.StartsWith(NotCleanly, StringComparison.Ordinal);
        if (n.State == "failed" || failedToReturn && converged is not null)
        {
            var outcome = converged ?? new NodeOutcome(n.Node, "failed", 0, 0, 0, []);
            var why = failedToReturn ? Detail(n) : n.Failure.Length > 0 ? n.Failure : n.Detail;
            return outcome with { Result = "failed", Failed = Math.Max(1, outcome.Failed), Failures = outcome.Failures.Count > 0 && !failedToReturn ? outcome.Failures : [why] };
        }
        return n.State is "healthy" or "returned" && converged is not null ? converged
            : new NodeOutcome(n.Node, "not-moved", 0, 0, 0, [], $"{n.State}: the rollout is {rolloutState}");
    }

    /// <summary>How the controller begins the detail of a node whose return failed too.</summary>
    private const string NotCleanly = "did not return cleanly: ";

    /// <summary>What a node is doing, and why it failed when it did, even after it returned (a failure the return met again said once).</summary>
    private static string Detail(RolloutNode node)
    {
        if (node.Failure.Length == 0 || node.State == "failed")
        {
            return node.Detail;
        }
        var detail = node.Detail.StartsWith(NotCleanly, StringComparison.Ordinal) && node.Detail[NotCleanly.Length..] == node.Failure
            ? $"did not return cleanly: the same on revision {node.PreviousRevision}" : node.Detail;
        return $"failed: {node.Failure}; {detail}".TrimEnd(' ', ';');
    }

    internal static RolloutOutput ToOutput(Rollout r) => new(r.Id, r.Revision, r.State, r.Reason, r.Batch, r.Batches, r.Promoted,
        r.CreatedAt?.ToDateTimeOffset(), r.UpdatedAt?.ToDateTimeOffset(), r.NextBatchAt?.ToDateTimeOffset(),
        [.. r.Nodes.Select(n => new RolloutNodeOutput(n.Node, n.Batch, n.State, n.Detail, n.PreviousRevision, n.Failure.Length > 0 ? n.Failure : null))]);
}
