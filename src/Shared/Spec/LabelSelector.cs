namespace Hawser.Shared.Spec;

/// <summary>Label selectors: a node matches when it carries every key of the selector with the same value.</summary>
public static class LabelSelector
{
    /// <summary>
    /// True when <paramref name="labels"/> has every pair of <paramref name="selector"/>. An empty selector
    /// matches everything; callers for which that would be a mistake (profiles) refuse empty selectors.
    /// </summary>
    public static bool Matches(IEnumerable<KeyValuePair<string, string>> selector, IReadOnlyDictionary<string, string> labels) =>
        selector.All(pair => labels.TryGetValue(pair.Key, out var value) && value == pair.Value);
}
