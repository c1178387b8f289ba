using System.Globalization;
using System.Text;
using Hawser.Shared.IO;

namespace Hawser.Agent.Upgrade;

/// <summary>
/// What the agent remembers of its last switch, in <c>/var/lib/hawser/agent/upgrade</c> (written atomically): the versions,
/// when it switched, the starts since (a crash loop sends it back), or why the switch to <see cref="To"/> failed.
/// </summary>
public sealed record UpgradeRecord(string From, string To, DateTimeOffset At, IReadOnlyList<DateTimeOffset> Starts, string? Failure)
{
    /// <summary>Reads the record, or null when there is none or it cannot be read (then nothing is remembered).</summary>
    public static UpgradeRecord? Load(string path)
    {
        try
        {
            var fields = File.ReadAllLines(path).Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
            DateTimeOffset Time(string text) => DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(text, CultureInfo.InvariantCulture));
            return new UpgradeRecord(fields["from"], fields["to"], Time(fields["at"]),
                [.. fields.GetValueOrDefault("starts", "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Time)],
                fields.TryGetValue("failure", out var failure) && failure.Length > 0 ? failure : null);
        }
        catch (Exception ex) when (ex is IOException or KeyNotFoundException or FormatException or OverflowException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Writes the record atomically.</summary>
    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var text = $"from={From}\nto={To}\nat={At.ToUnixTimeMilliseconds()}\nstarts={string.Join(',', Starts.Select(s => s.ToUnixTimeMilliseconds()))}\n" +
            $"failure={(Failure ?? "").ReplaceLineEndings(" ")}\n";
        AtomicFile.Write(path, Encoding.UTF8.GetBytes(text), UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
