using Hawser.Shared.Cli;
using System.CommandLine;
using Google.Protobuf.WellKnownTypes;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Ctl.Commands;

/// <summary>The options that shape a rollout, shared by <c>rollout start</c> and <c>apply --rollout</c>.</summary>
internal sealed class RolloutOptionSet
{
    private readonly Option<string> _selector = new("--selector", "-l") { HelpName = "k=v,...", Description = "Only nodes with these labels (default: every node the revision names)." };
    private readonly Option<string> _batch = new("--batch") { HelpName = "N|N%", Description = "Nodes per batch, a count or a percentage.", DefaultValueFactory = _ => "25%" };
    private readonly Option<bool> _canary = new("--canary") { Description = "Move a single node first, as its own batch." };
    private readonly Option<TimeSpan> _pause = Durations.Option("--pause", "Wait between batches");
    private readonly Option<string> _maxFailures = new("--max-failures") { HelpName = "N|N%", Description = "Failed nodes tolerated before the failure policy acts.", DefaultValueFactory = _ => "0" };
    private readonly Option<string> _onFailure = new("--on-failure") { HelpName = "pause|rollback", Description = "Past the failures tolerated: wait for the operator, or return every moved node.", DefaultValueFactory = _ => "pause" };
    private readonly Option<string[]> _check = new("--check") { HelpName = "URL", Description = "An HTTP check each node of a batch must pass; {node} and {address} (the node's address label) are filled in. Repeatable." };
    private readonly Option<string> _expectStatus = new("--expect-status") { HelpName = "REGEX", Description = "Status codes a check accepts.", DefaultValueFactory = _ => "(2|3)[0-9][0-9]" };
    private readonly Option<TimeSpan> _hold = Durations.Option("--hold", "How long the checks must keep passing");
    private readonly Option<TimeSpan> _checkTimeout = Durations.Option("--check-timeout", "How long one check request may take before the check fails; default 5s", minimum: TimeSpan.FromMilliseconds(1));
    private readonly Option<TimeSpan> _gateTimeout = Durations.Option("--gate-timeout", "How long a node has to report the revision applied and pass its checks; default 2m");

    public RolloutOptionSet()
    {
        // Bad values are bad command lines (exit 64) like every other option's, found before the controller is asked.
        _batch.Validators.Add(result => Count(result, "--batch", least: 1));
        _maxFailures.Validators.Add(result => Count(result, "--max-failures", least: 0));
        _onFailure.AcceptOnlyFromAmong("pause", "rollback");
    }

    /// <summary>A count (3) or a percentage (25%) of at least <paramref name="least"/>, and a percentage at most 100.</summary>
    private static void Count(System.CommandLine.Parsing.OptionResult result, string name, int least)
    {
        if (result.Tokens.Count == 0)
        {
            return;
        }
        var text = result.Tokens[0].Value;
        var percent = text.EndsWith('%');
        if (!int.TryParse(percent ? text[..^1] : text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
            || number < least || percent && number > 100)
        {
            result.AddError($"{name} '{text}' is not a count or a percentage of at least {least}{(least > 0 ? $" ({least} or {least}%)" : "")}, at most 100%: 3 or 25%");
        }
    }

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new System.CommandLine.Option[] { _selector, _batch, _canary, _pause, _maxFailures, _onFailure, _check, _expectStatus, _hold, _checkTimeout, _gateTimeout })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The options as the controller takes them.</summary>
    public RolloutOptions Read(ParseResult parse)
    {
        var options = new RolloutOptions
        {
            Selector = parse.GetValue(_selector) ?? "",
            Batch = parse.GetValue(_batch)!,
            Canary = parse.GetValue(_canary),
            Pause = Duration.FromTimeSpan(parse.GetValue(_pause)),
            MaxFailures = parse.GetValue(_maxFailures)!,
            OnFailure = parse.GetValue(_onFailure)!,
        };
        if (parse.GetResult(_gateTimeout) is not null)
        {
            options.GateTimeout = Duration.FromTimeSpan(parse.GetValue(_gateTimeout));
        }
        foreach (var url in parse.GetValue(_check) ?? [])
        {
            var check = new HttpCheck { Url = url, ExpectStatus = parse.GetValue(_expectStatus)!, Hold = Duration.FromTimeSpan(parse.GetValue(_hold)) };
            if (parse.GetResult(_checkTimeout) is not null)
            {
                check.Timeout = Duration.FromTimeSpan(parse.GetValue(_checkTimeout));
            }
            options.Checks.Add(check);
        }
        return options;
    }
}
