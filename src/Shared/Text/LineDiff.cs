using System.Text;

namespace Hawser.Shared.Text;

/// <summary>Whether a line of a diff is on both sides, only in the old text, or only in the new.</summary>
public enum LineChange
{
    /// <summary>The same on both sides.</summary>
    Same,

    /// <summary>Only in the old text.</summary>
    Removed,

    /// <summary>Only in the new text.</summary>
    Added,
}

/// <summary>One line of a diff with its number on each side (0: not on that side).</summary>
public sealed record DiffLine(LineChange Change, int OldNumber, int NewNumber, string Text);

/// <summary>A run of changed lines with their context, as in <c>@@ -OldStart,OldCount +NewStart,NewCount @@</c>.</summary>
public sealed record DiffHunk(int OldStart, int OldCount, int NewStart, int NewCount, IReadOnlyList<DiffLine> Lines)
{
    /// <summary>The hunk's header line.</summary>
    public string Header => $"@@ -{OldStart},{OldCount} +{NewStart},{NewCount} @@";
}

/// <summary>
/// A line diff of two texts (longest common subsequence; specs are small), and its hunks in the unified
/// format that git and diff -u print, shared by hawserctl and the web UI so both show the same change.
/// </summary>
public static class LineDiff
{
    /// <summary>Every line of both texts, in order, marked same, removed or added.</summary>
    public static IReadOnlyList<DiffLine> Lines(string oldText, string newText)
    {
        var a = Split(oldText);
        var b = Split(newText);
        var common = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                common[i, j] = a[i] == b[j] ? common[i + 1, j + 1] + 1 : Math.Max(common[i + 1, j], common[i, j + 1]);
            }
        }
        var lines = new List<DiffLine>();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                lines.Add(new DiffLine(LineChange.Same, ++x, ++y, a[x - 1]));
            }
            else if (y < b.Length && (x == a.Length || common[x, y + 1] >= common[x + 1, y]))
            {
                lines.Add(new DiffLine(LineChange.Added, 0, ++y, b[y - 1]));
            }
            else
            {
                lines.Add(new DiffLine(LineChange.Removed, ++x, 0, a[x - 1]));
            }
        }
        // Within a run of changes, removals first, as unified diffs show them.
        return Reorder(lines);
    }

    /// <summary>The changes grouped into hunks with <paramref name="context"/> unchanged lines around each.</summary>
    public static IReadOnlyList<DiffHunk> Hunks(IReadOnlyList<DiffLine> lines, int context = 3)
    {
        var hunks = new List<DiffHunk>();
        var changed = lines.Select((line, index) => (line, index)).Where(p => p.line.Change != LineChange.Same).Select(p => p.index).ToList();
        var k = 0;
        while (k < changed.Count)
        {
            var start = Math.Max(0, changed[k] - context);
            var end = Math.Min(lines.Count - 1, changed[k] + context);
            while (k + 1 < changed.Count && changed[k + 1] - context <= end + 1)
            {
                k++;
                end = Math.Min(lines.Count - 1, changed[k] + context);
            }
            var part = lines.Skip(start).Take(end - start + 1).ToList();
            var oldLines = part.Where(l => l.Change != LineChange.Added).ToList();
            var newLines = part.Where(l => l.Change != LineChange.Removed).ToList();
            hunks.Add(new DiffHunk(
                oldLines.Count > 0 ? oldLines[0].OldNumber : OldBefore(lines, start), oldLines.Count,
                newLines.Count > 0 ? newLines[0].NewNumber : NewBefore(lines, start), newLines.Count, part));
            k++;
        }
        return hunks;
    }

    /// <summary>The unified diff of two texts, with <c>--- old</c> and <c>+++ new</c> headers; empty when they are the same.</summary>
    public static string Unified(string oldText, string newText, string oldName, string newName, int context = 3)
    {
        var hunks = Hunks(Lines(oldText, newText), context);
        if (hunks.Count == 0)
        {
            return "";
        }
        var text = new StringBuilder($"--- {oldName}\n+++ {newName}\n");
        foreach (var hunk in hunks)
        {
            text.Append(hunk.Header).Append('\n');
            foreach (var line in hunk.Lines)
            {
                text.Append(line.Change switch { LineChange.Added => '+', LineChange.Removed => '-', _ => ' ' }).Append(line.Text).Append('\n');
            }
        }
        return text.ToString();
    }

    private static string[] Split(string text) => text.Length == 0 ? [] : text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    private static List<DiffLine> Reorder(List<DiffLine> lines)
    {
        var result = new List<DiffLine>(lines.Count);
        var i = 0;
        while (i < lines.Count)
        {
            if (lines[i].Change == LineChange.Same)
            {
                result.Add(lines[i++]);
                continue;
            }
            var run = new List<DiffLine>();
            while (i < lines.Count && lines[i].Change != LineChange.Same)
            {
                run.Add(lines[i++]);
            }
            result.AddRange(run.Where(l => l.Change == LineChange.Removed));
            result.AddRange(run.Where(l => l.Change == LineChange.Added));
        }
        return result;
    }

    // Where an empty side of a hunk sits: after the last line numbered before it (0 at the start), as diff -u prints it.
    private static int OldBefore(IReadOnlyList<DiffLine> lines, int start) => lines.Take(start).Where(l => l.OldNumber > 0).Select(l => l.OldNumber).DefaultIfEmpty(0).Last();

    private static int NewBefore(IReadOnlyList<DiffLine> lines, int start) => lines.Take(start).Where(l => l.NewNumber > 0).Select(l => l.NewNumber).DefaultIfEmpty(0).Last();
}
