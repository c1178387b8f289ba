using Hawser.Shared.Cli;
using System.CommandLine;
using Hawser.Ctl.Output;
using Hawser.Shared.Protocol.V1;
using Grpc.Core;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl apply -f SPEC [-m MESSAGE]</c>: store a new revision and push it to the nodes it changes.</summary>
internal sealed class ApplyCommand : Command
{
    private readonly Option<FileInfo> _file = new("--file", "-f") { HelpName = "SPEC.yaml", Description = "The spec to apply.", Required = true };
    private readonly Option<string> _message = new("--message", "-m") { Description = "Why: stored with the revision.", DefaultValueFactory = _ => string.Empty };

    private readonly Option<bool> _noWait = new("--no-wait") { Description = "Exit once the revision is stored and pushed, without waiting for the nodes' reports." };
    private readonly Option<TimeSpan> _waitTimeout = Durations.Option("--wait-timeout",
        "How long to wait for each changed node to report the new revision; a node that does not is counted unreachable (exit 4); default 2m", TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(1));

    private readonly Option<bool> _rollout = new("--rollout") { Description = "Roll the new revision out in batches (the rollout options below) instead of pushing it to every node at once." };
    private readonly Option<bool> _storeOnly = new("--store-only")
    {
        Description = "Store the revision and push nothing: every node keeps what it runs until `hawserctl rollout start REVISION` (or a plain apply) moves it.",
    };
    private readonly RolloutOptionSet _rolloutOptions = new();

    private readonly Option<bool> _trace = new("--trace")
    {
        Description = "Start a W3C trace for this apply and print its id: a controller run with --otlp-endpoint exports the apply " +
            "(validate, store, push) and each agent's converge of it, resource by resource, under that id.",
    };

    public ApplyCommand() : base("apply", "Validate a spec, store it as a new revision, push each connected node its own state (or, with --rollout, roll it out), " +
        "and wait for every changed node's report: a recap per node, exit 0 all converged, 1 a node failed, 4 a node did not report in time. Nothing is stored when the spec is invalid.")
    {
        Options.Add(_file);
        Options.Add(_message);
        Options.Add(_noWait);
        Options.Add(_waitTimeout);
        Options.Add(_rollout);
        Options.Add(_storeOnly);
        Options.Add(_trace);
        _rolloutOptions.AddTo(this);
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawserctl apply -f fleet.yaml -m \"BBR on the web hosts\"", "hawserctl apply -f fleet.yaml --rollout --batch 25% --pause 5m --check \"http://{address}/health\"");
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
        var file = parse.GetValue(_file)!;
        if (SpecFileInput.Read(file, output) is not { } text)
        {
            return ExitCodes.Usage;
        }
        var request = new ApplySpecRequest { SpecYaml = text, FileName = file.FullName, Message = parse.GetValue(_message)! };
        if (parse.GetValue(_rollout))
        {
            request.Rollout = _rolloutOptions.Read(parse);
        }
        request.StoreOnly = parse.GetValue(_storeOnly);
        var wait = !parse.GetValue(_noWait) && !parse.GetValue(_rollout) && !request.StoreOnly;
        var waitTimeout = parse.GetValue(_waitTimeout);
        // hawserctl's own span is the trace's root: its id is printed, not exported (hawserctl has no exporter).
        var traceParent = parse.GetValue(_trace)
            ? $"00-{System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString()}-{System.Diagnostics.ActivitySpanId.CreateRandom().ToHexString()}-01"
            : null;
        return await ControllerClient.RunAsync(parse, output, async (client, options) =>
        {
            ApplySpecResponse response;
            try
            {
                response = await client.ApplySpecAsync(request, traceParent is null ? options : options.WithHeaders(WithTraceParent(options.Headers, traceParent)));
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument)
            {
                SpecFileInput.PrintErrors(ex, output);
                output.WriteError("the spec was not stored", "InvalidSpec");
                return ExitCodes.Failed;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
            {
                output.WriteError(ex.Status.Detail, "Refused");
                return ExitCodes.Failed;
            }
            IReadOnlyList<NodeOutcome>? outcomes = null;
            if (output.Format != OutputFormat.Json)
            {
                if (traceParent is not null)
                {
                    output.WriteLine($"trace {traceParent.Split('-')[1]} (traceparent {traceParent})");
                }
                PrintStored(output, response, wait, request.StoreOnly);
                foreach (var missing in response.Unenrolled)
                {
                    output.WriteLine(StatusCommand.UnenrolledLine(missing));
                }
            }
            if (wait && !response.Unchanged && response.ChangedNodes.Count > 0)
            {
                outcomes = await ConvergeRecap.WaitAsync(client, response.ChangedNodes.ToDictionary(n => n, _ => response.Revision, StringComparer.Ordinal),
                    waitTimeout, output, cancellationToken);
            }
            if (output.Format == OutputFormat.Json)
            {
                output.WriteJson(new ApplyOutput(response.Revision, response.Unchanged, [.. response.PushedNodes], response.RolloutId == 0 ? null : response.RolloutId,
                    [.. response.ChangedNodes], outcomes?.Select(ApplyOutcomeOutput.Of).ToList(), [.. response.Unenrolled.Select(UnenrolledOutput.Of)]), CtlJsonContext.Default.ApplyOutput);
            }
            return outcomes is null ? ExitCodes.Ok : ConvergeRecap.Print(output, $"revision {response.Revision}", outcomes);
        }, cancellationToken);
    }

    private static Metadata WithTraceParent(Metadata? headers, string traceParent)
    {
        var merged = new Metadata();
        foreach (var entry in headers ?? [])
        {
            merged.Add(entry);
        }
        merged.Add("traceparent", traceParent);
        return merged;
    }

    /// <summary>What the controller did with the spec, before any wait.</summary>
    private static void PrintStored(ConsoleOutput output, ApplySpecResponse response, bool wait, bool storeOnly)
    {
        if (response.Unchanged)
        {
            output.WriteLine($"unchanged: the spec equals revision {response.Revision}; nothing stored or pushed");
        }
        else if (storeOnly)
        {
            output.WriteLine($"revision {response.Revision} stored; nothing pushed (hawserctl rollout start {response.Revision} rolls it out)");
        }
        else if (response.RolloutId != 0)
        {
            output.WriteLine($"revision {response.Revision} stored; rollout {response.RolloutId} started (hawserctl rollout status {response.RolloutId} --watch)");
        }
        else
        {
            output.WriteLine($"revision {response.Revision} stored; pushed to {(response.PushedNodes.Count == 0 ? "no connected node whose state changed" : string.Join(", ", response.PushedNodes))}");
            if (wait && response.ChangedNodes.Count > 0)
            {
                output.WriteLine($"waiting for {response.ChangedNodes.Count} node(s) to report revision {response.Revision} (--no-wait skips this)");
            }
        }
    }
}
