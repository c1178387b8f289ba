namespace Hawser.Ctl.Commands;

/// <summary>Options given as key=value, repeated or comma-separated (<c>-l role=web,zone=a</c>).</summary>
internal static class KeyValuePairs
{
    /// <summary>
    /// Adds every pair in <paramref name="values"/> to <paramref name="into"/>; on a malformed one,
    /// reports it naming <paramref name="option"/> and returns false.
    /// </summary>
    public static bool TryAdd(IEnumerable<string>? values, IDictionary<string, string> into, string option, Output.ConsoleOutput output)
    {
        foreach (var pair in (values ?? []).SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                output.WriteError($"{option} '{pair}' is not key=value", "Usage");
                return false;
            }
            into[pair[..eq]] = pair[(eq + 1)..];
        }
        return true;
    }
}
