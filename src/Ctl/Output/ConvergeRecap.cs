using Grpc.Core;
using Hawser.Ctl.Commands;
using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;
using Spectre.Console;

namespace Hawser.Ctl.Output;

/// <summary>
/// How one node came out of a change: its counts from the report of the awaited revision, or why there is none. Counted as
/// Ansible counts a play: <c>ok</c> is every resource as the spec says at the end (changed ones included), <c>changed</c>
/// those of them this revision changed, <c>failed</c> those that are not.
/// </summary>
internal sealed record NodeOutcome(string Node, string Result, int Ok, int Changed, int Failed, IReadOnlyList<string> Failures, string? Why = null)
{
    /// <summary>Each resource the revision changed, <c>kind:name target: from -&gt; to</c> (empty when the node was not read whole).</summary>
    public IReadOnlyList<string> Changes { get; init; } = [];

    /// <summary>ok, changed, failed or unreachable: the recap's word for the node, from what its revision did.</summary>
    /// <remarks>A listing carries counts only: a node with failures is read whole (<see cref="DetailAsync"/>, the caller) for the lines that say why.</remarks>
    public static NodeOutcome From(Node node)
    {
        var (_, resources) = NodeState.Outcome(node);
        var counts = NodeState.Count(NodeState.OutcomeCounts(node));
        var failures = resources.Where(r => StateWords.IsFailed(r.State))
            .Select(r => $"{r.Kind}:{r.Name}: {(r.Error.Length > 0 ? r.Error : StateWords.Resource(r.State))}").ToList();
        var failed = Math.Max(failures.Count, counts.Failed + (int)NodeState.OutcomeCounts(node).Skipped);
        var result = failed > 0 ? "failed" : counts.Changed > 0 ? "changed" : "ok";
        return new NodeOutcome(node.Name, result, counts.InSync + counts.Changed, counts.Changed, failed, failures)
        {
            Changes = [.. resources.Where(r => r.State == ResourceState.Changed).Select(r => $"{r.Kind}:{r.Name} {r.Diff}".TrimEnd())],
        };
    }

    /// <summary>
    /// The node as GetNode has it (with its resources) when its listing says something failed, or with
    /// <paramref name="changes"/> that something changed; else the listing's node.
    /// </summary>
    public static async Task<Node> DetailAsync(ControlService.ControlServiceClient client, Node node, CallOptions options, bool changes = false)
    {
        var counts = NodeState.OutcomeCounts(node);
        return (counts.Failed + counts.Skipped > 0 || changes && counts.Changed > 0) && node.OutcomeResources.Count == 0 && node.Resources.Count == 0
            ? await client.GetNodeAsync(new GetNodeRequest { Name = node.Name }, options)
            : node;
    }

    /// <summary>A node that did not report the awaited revision in time.</summary>
    public static NodeOutcome Unreachable(string node, string why) => new(node, "unreachable", 0, 0, 0, [], why);
}

/// <summary>Where a wait shows each node's progress.</summary>
internal interface IConvergeProgress
{
    /// <summary>The node has not reported the revision yet.</summary>
    void Waiting(string node, string detail);

    /// <summary>The node is done.</summary>
    void Finished(NodeOutcome outcome);

    /// <summary>Shows what changed since the last refresh.</summary>
    void Refresh();
}

/// <summary>
/// Waits until every node of a change reports the revision it was given (or the time is up), showing each
/// node's progress (live on a terminal, a line per finished node in a pipe), then prints the recap: one line
/// per node with ok / changed / failed / unreachable and the failing resources with their errors.
/// Exit codes: 0 all converged, 1 any failed, 4 any did not report in time.
/// </summary>
internal static class ConvergeRecap
{
    /// <summary>Up to how many nodes the recap lists each change (one read of each node); beyond, the counts (events lists them).</summary>
    public const int ChangesListedUpTo = 50;

    /// <summary>How often the controller is asked while waiting.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Waits for each node in <paramref name="expected"/> to report at least its revision, polling the controller;
    /// returns the outcomes in node order.
    /// </summary>
    public static Task<IReadOnlyList<NodeOutcome>> WaitAsync(ControlService.ControlServiceClient client, IReadOnlyDictionary<string, ulong> expected,
        TimeSpan timeout, ConsoleOutput output, CancellationToken cancellationToken) =>
        WaitAsync(client, expected, (node, revision) => NodeState.Outcome(node).Revision >= revision && !AwaitsCertificate(node), timeout, output, cancellationToken);

    /// <summary>
    /// True while a node's only failures are certificates the controller has not obtained yet (the agent reports them
    /// as having no PEM material): the controller orders them after the apply and sends them on, so the wait goes on.
    /// </summary>
    private static bool AwaitsCertificate(Node node)
    {
        var failed = NodeState.Outcome(node).Resources.Where(r => StateWords.IsFailed(r.State)).ToList();
        return failed.Count > 0 && failed.All(StateWords.AwaitsCertificateMaterial);
    }

    /// <summary>As the other overload, with <paramref name="isDone"/> judging when a node's report is the awaited one.</summary>
    /// <remarks>
    /// A listing carries counts, not resources: <paramref name="isDone"/> sees a node read whole (GetNode) once it reported the
    /// awaited revision with failures, or always with <paramref name="readWhole"/> (it judges installed certificates).
    /// </remarks>
    public static async Task<IReadOnlyList<NodeOutcome>> WaitAsync(ControlService.ControlServiceClient client, IReadOnlyDictionary<string, ulong> expected,
        Func<Node, ulong, bool> isDone, TimeSpan timeout, ConsoleOutput output, CancellationToken cancellationToken, bool readWhole = false)
    {
        var done = new SortedDictionary<string, NodeOutcome>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + timeout;
        var last = new Dictionary<string, Node>(StringComparer.Ordinal);
        await output.WithProgressAsync(expected.Keys, async progress =>
        {
            while (done.Count < expected.Count)
            {
                var callOptions = new CallOptions(deadline: DateTime.UtcNow + TimeSpan.FromSeconds(10), cancellationToken: cancellationToken);
                var nodes = await client.ListAllNodesAsync(new ListNodesRequest(), callOptions);
                var byName = nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
                foreach (var (name, revision) in expected.Where(e => !done.ContainsKey(e.Key)))
                {
                    if (!byName.TryGetValue(name, out var listed))
                    {
                        Finish(progress, NodeOutcome.Unreachable(name, "removed from the controller while waiting"));
                        continue;
                    }
                    // Whether its failures are only certificates still being obtained needs its resources.
                    var node = readWhole ? await client.GetNodeAsync(new GetNodeRequest { Name = name }, callOptions)
                        : NodeState.Outcome(listed).Revision >= revision ? await NodeOutcome.DetailAsync(client, listed, callOptions, expected.Count <= ChangesListedUpTo) : listed;
                    if (isDone(node, revision))
                    {
                        last[name] = node;
                        Finish(progress, NodeOutcome.From(node));
                    }
                    else
                    {
                        last[name] = node;
                        progress.Waiting(name, !node.Connected ? "not connected"
                            : NodeState.Outcome(node).Revision >= revision ? "waiting for a certificate the controller is obtaining" : $"converging revision {revision}");
                    }
                }
                progress.Refresh();
                if (done.Count == expected.Count)
                {
                    break;
                }
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    foreach (var name in expected.Keys.Where(n => !done.ContainsKey(n)).ToList())
                    {
                        if (last.TryGetValue(name, out var reported) && NodeState.Outcome(reported).Revision >= expected[name])
                        {
                            // It reported, but what it waited for (a certificate) never came: its report stands.
                            Finish(progress, NodeOutcome.From(reported));
                            continue;
                        }
                        var connected = last.TryGetValue(name, out var node) && node.Connected;
                        Finish(progress, NodeOutcome.Unreachable(name, connected
                            ? $"connected, but no report of revision {expected[name]} within {Shared.Cli.Durations.Format(timeout)}"
                            : $"not connected; it gets revision {expected[name]} when it connects"));
                    }
                    progress.Refresh();
                    break;
                }
                await Task.Delay(left < PollInterval ? left : PollInterval, cancellationToken);
            }
        });
        return [.. done.Values];

        void Finish(IConvergeProgress progress, NodeOutcome outcome)
        {
            done[outcome.Node] = outcome;
            progress.Finished(outcome);
        }
    }

    /// <summary>Prints the recap (not in JSON mode) and returns the exit code it stands for.</summary>
    public static int Print(ConsoleOutput output, string title, IReadOnlyList<NodeOutcome> outcomes)
    {
        if (output.Format != OutputFormat.Json)
        {
            output.WriteLine("");
            output.WriteLine($"RECAP {title}");
            var width = outcomes.Count == 0 ? 0 : outcomes.Max(o => o.Node.Length);
            foreach (var o in outcomes)
            {
                var line = $"{o.Node.PadRight(width)} : ok={o.Ok} changed={o.Changed} failed={o.Failed} unreachable={(o.Result == "unreachable" ? 1 : 0)}";
                output.WriteColoured(line, o.Result switch { "failed" => "red", "unreachable" => "yellow", "changed" => "green", _ => null });
                // What failed first: it is what the reader acts on.
                foreach (var failure in o.Failures)
                {
                    output.WriteLine($"    {failure}");
                }
                foreach (var change in o.Changes)
                {
                    output.WriteLine($"    changed {change}");
                }
                if (o.Why is { } why)
                {
                    output.WriteLine($"    {why}");
                }
            }
        }
        return ExitCode(outcomes);
    }

    /// <summary>1 when any node failed, else 4 when any did not report in time, else 0.</summary>
    public static int ExitCode(IReadOnlyList<NodeOutcome> outcomes) =>
        outcomes.Any(o => o.Result == "failed") ? ExitCodes.Failed
        : outcomes.Any(o => o.Result == "unreachable") ? ExitCodes.NoReport
        : ExitCodes.Ok;
}
