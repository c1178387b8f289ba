namespace Hawser.Shared.Cli;

/// <summary>"Did you mean": the candidate nearest to a word that matched none (a mistyped command or node name).</summary>
public static class NearestName
{
    /// <summary>
    /// The candidate nearest to <paramref name="word"/>: at most one edit for short words, two for longer ones (a swapped
    /// pair of letters is one), or one it begins (with <paramref name="prefixes"/>); null when none is that near.
    /// </summary>
    public static string? Of(IEnumerable<string> candidates, string word, bool prefixes = false)
    {
        var best = candidates
            .Select(c => (Name: c, Distance: prefixes && c.StartsWith(word, StringComparison.OrdinalIgnoreCase) ? 0 : Distance(c, word.ToLowerInvariant())))
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault();
        return best.Name is not null && best.Distance <= Math.Max(1, Math.Min(2, word.Length / 3)) ? best.Name : null;
    }

    private static int Distance(string a, string b)
    {
        // Damerau-Levenshtein (optimal string alignment): a swapped pair of letters is one edit, as in "stauts".
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) { d[i, 0] = i; }
        for (var j = 0; j <= b.Length; j++) { d[0, j] = j; }
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }
        return d[a.Length, b.Length];
    }
}
