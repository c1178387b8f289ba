using Hawser.Shared.Text;

namespace Hawser.Controller.Web;

/// <summary>A line diff of two texts laid out side by side, from the same diff hawserctl prints unified.</summary>
public static class SideBySide
{
    /// <summary>The rows: common lines on both sides, removed lines on the left, added lines on the right, paired where they replace each other.</summary>
    public static List<WebDiffRow> Rows(string left, string right)
    {
        var rows = new List<WebDiffRow>();
        var removed = new List<string>();
        var added = new List<string>();
        void Flush()
        {
            for (var k = 0; k < Math.Max(removed.Count, added.Count); k++)
            {
                rows.Add(new WebDiffRow(k < removed.Count ? removed[k] : null, k < added.Count ? added[k] : null, true));
            }
            removed.Clear();
            added.Clear();
        }
        foreach (var line in LineDiff.Lines(left, right))
        {
            switch (line.Change)
            {
                case LineChange.Same:
                    Flush();
                    rows.Add(new WebDiffRow(line.Text, line.Text, false));
                    break;
                case LineChange.Removed:
                    removed.Add(line.Text);
                    break;
                default:
                    added.Add(line.Text);
                    break;
            }
        }
        Flush();
        return rows;
    }
}
