using System.Globalization;
using System.Text.RegularExpressions;
using Hawser.Controller.Store;

namespace Hawser.Controller.Rollouts;

/// <summary>A rollout request that cannot be started; the message names the option or node.</summary>
public sealed class RolloutException(string message) : Exception(message);

/// <summary>An HTTP check of a rollout, ready to run.</summary>
/// <param name="Url">The URL template ({node}, {address}).</param>
/// <param name="ExpectStatus">The status expectation as written (defaulted).</param>
/// <param name="Expect">The expectation compiled, anchored to the whole status code.</param>
/// <param name="Hold">How long it must keep passing.</param>
/// <param name="Timeout">How long one request may take before the check fails.</param>
public sealed record PlannedCheck(string Url, string ExpectStatus, Regex Expect, TimeSpan Hold, TimeSpan Timeout);

/// <summary>Rollout options checked and made concrete: the selector, sizes, policy and checks.</summary>
public sealed record RolloutPlan
{
    /// <summary>The default status expectation of an HTTP check, as HAProxy's <c>http-check expect rstatus (2|3)[0-9][0-9]</c>.</summary>
    public const string DefaultExpectStatus = "(2|3)[0-9][0-9]";

    /// <summary>How long one check request may take when the check does not say.</summary>
    public static readonly TimeSpan DefaultCheckTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Labels a node must have.</summary>
    public required IReadOnlyDictionary<string, string> Selector { get; init; }

    /// <summary>Failure policy: <c>pause</c> or <c>rollback</c>.</summary>
    public required string OnFailure { get; init; }

    /// <summary>How long a node has to become healthy.</summary>
    public required TimeSpan GateTimeout { get; init; }

    /// <summary>The HTTP checks, each with its status expectation compiled.</summary>
    public required IReadOnlyList<PlannedCheck> Checks { get; init; }

    /// <summary>How long a node's checks must keep passing: the longest hold of any check.</summary>
    public TimeSpan Hold => Checks.Select(c => c.Hold).DefaultIfEmpty(TimeSpan.Zero).Max();

    /// <summary>
    /// Checks <paramref name="options"/>, filling in defaults; every problem is reported at once.
    /// </summary>
    public static RolloutPlan Parse(RolloutSettings options)
    {
        var errors = new List<string>();
        var selector = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in options.Selector.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                errors.Add($"selector: '{pair}' is not key=value");
                continue;
            }
            selector[pair[..equals]] = pair[(equals + 1)..];
        }
        if (ParseCount(options.Batch, "batch", errors) is (0, _))
        {
            errors.Add($"batch: '{options.Batch}' must be at least 1 node or 1%");
        }
        ParseCount(options.MaxFailures, "max-failures", errors);
        var onFailure = options.OnFailure.Length == 0 ? "pause" : options.OnFailure;
        if (onFailure is not ("pause" or "rollback"))
        {
            errors.Add($"on-failure: '{options.OnFailure}' is not pause or rollback");
        }
        if (options.Pause is { } pause && pause < TimeSpan.Zero)
        {
            errors.Add("pause: must not be negative");
        }
        var checks = new List<PlannedCheck>();
        for (var i = 0; i < options.Checks.Count; i++)
        {
            var check = options.Checks[i];
            var sample = check.Url.Replace("{node}", "node", StringComparison.Ordinal).Replace("{address}", "192.0.2.1", StringComparison.Ordinal);
            if (!Uri.TryCreate(sample, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                errors.Add($"check #{i + 1}: '{check.Url}' is not an http:// or https:// URL template ({{node}}, {{address}})");
            }
            var expectStatus = check.ExpectStatus.Length == 0 ? DefaultExpectStatus : check.ExpectStatus;
            var requestTimeout = check.Timeout ?? DefaultCheckTimeout;
            if (requestTimeout <= TimeSpan.Zero)
            {
                errors.Add($"check #{i + 1}: timeout must be positive");
            }
            try
            {
                checks.Add(new PlannedCheck(check.Url, expectStatus, new Regex($"^(?:{expectStatus})\\z", RegexOptions.None, TimeSpan.FromSeconds(1)),
                    check.Hold ?? TimeSpan.Zero, requestTimeout));
            }
            catch (ArgumentException ex)
            {
                errors.Add($"check #{i + 1}: expect-status '{check.ExpectStatus}' is not a regular expression: {ex.Message}");
            }
        }
        if (errors.Count > 0)
        {
            throw new RolloutException(string.Join("; ", errors));
        }
        return new RolloutPlan
        {
            Selector = selector,
            OnFailure = onFailure,
            GateTimeout = options.GateTimeout is { } timeout && timeout > TimeSpan.Zero ? timeout : TimeSpan.FromMinutes(2),
            Checks = checks,
        };
    }

    /// <summary>The nodes of <paramref name="nodes"/> split into batches: the canary alone first when asked, then batches of the given size.</summary>
    public static List<List<string>> Batches(IReadOnlyList<string> nodes, RolloutSettings options)
    {
        var batches = new List<List<string>>();
        var rest = nodes.ToList();
        if (options.Canary && rest.Count > 1)
        {
            batches.Add([rest[0]]);
            rest.RemoveAt(0);
        }
        var size = Math.Max(1, Resolve(options.Batch.Length == 0 ? "25%" : options.Batch, nodes.Count));
        batches.AddRange(rest.Chunk(size).Select(chunk => chunk.ToList()));
        return batches;
    }

    /// <summary>How many failed nodes the rollout tolerates out of <paramref name="total"/>.</summary>
    public static int MaxFailures(RolloutSettings options, int total) => options.MaxFailures.Length == 0 ? 0 : Resolve(options.MaxFailures, total);

    /// <summary>True when <paramref name="node"/> has every label of the selector.</summary>
    public bool Selects(NodeRecord node) => Selects(node.Labels);

    /// <summary>True when a node with <paramref name="labels"/> matches the selector.</summary>
    public bool Selects(IReadOnlyDictionary<string, string> labels) => Selector.All(s => labels.TryGetValue(s.Key, out var value) && value == s.Value);

    /// <summary>"3" or "25%" of <paramref name="total"/> (a percentage rounds up).</summary>
    private static int Resolve(string text, int total)
    {
        var (number, percent) = ParseCount(text, "", null);
        return percent ? (int)Math.Ceiling(total * number / 100.0) : number;
    }

    private static (int Number, bool Percent) ParseCount(string text, string option, List<string>? errors)
    {
        if (text.Length == 0)
        {
            return (1, false);
        }
        var percent = text.EndsWith('%');
        if (!int.TryParse(percent ? text[..^1] : text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || (percent && number > 100))
        {
            errors?.Add($"{option}: '{text}' is not a count (3) or a percentage (25%)");
            return (1, false);
        }
        return (number, percent);
    }
}
