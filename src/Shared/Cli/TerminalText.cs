using System.Globalization;
using System.Text;

namespace Hawser.Shared.Cli;

/// <summary>
/// Makes text that did not come from the operator (a node's report, the store) safe to print on a terminal: every C0
/// and C1 control character, DEL, and every character that reorders or hides text (bidi overrides and isolates, line
/// and paragraph separators, zero-width marks) is shown as a visible escape, so no byte of it can move the cursor,
/// set a window title, write the clipboard (OSC 52) or start a line that looks like the program's own.
/// </summary>
public static class TerminalText
{
    /// <summary>What a line feed in the text is shown as.</summary>
    public const char LineFeed = '⏎';

    /// <summary><paramref name="text"/> as one line with every control and reordering character shown, never acted on.</summary>
    public static string Neutralize(string text) => Neutralize(text, keepLineFeeds: false);

    /// <summary>
    /// As <see cref="Neutralize(string)"/>, keeping line feeds (and tabs) as they are when <paramref name="keepLineFeeds"/>:
    /// for the program's own multi-line text (a stored spec, a validation error list), never for a value from a node.
    /// </summary>
    public static string Neutralize(string text, bool keepLineFeeds)
    {
        var first = IndexOfUnsafe(text, keepLineFeeds);
        if (first < 0)
        {
            return text;
        }
        var builder = new StringBuilder(text.Length + 16);
        builder.Append(text, 0, first);
        for (var i = first; i < text.Length; i++)
        {
            var c = text[i];
            if (!IsUnsafe(c, keepLineFeeds))
            {
                builder.Append(c);
            }
            else if (c == '\n')
            {
                builder.Append(LineFeed);
            }
            else if (c == '\t')
            {
                builder.Append("\\t");
            }
            else if (c == '\r')
            {
                builder.Append("\\r");
            }
            else if (c <= '\u00ff')
            {
                builder.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
        }
        return builder.ToString();
    }

    /// <summary>True when printing <paramref name="text"/> as it is could be acted on by a terminal (or reorder what is shown).</summary>
    public static bool HasUnsafe(string text) => IndexOfUnsafe(text, keepLineFeeds: false) >= 0;

    private static int IndexOfUnsafe(string text, bool keepLineFeeds)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (IsUnsafe(text[i], keepLineFeeds))
            {
                return i;
            }
        }
        return -1;
    }

    private static bool IsUnsafe(char c, bool keepLineFeeds) => c switch
    {
        '\n' or '\t' => !keepLineFeeds,
        < ' ' or '\u007f' => true,
        >= '\u0080' and <= '\u009f' => true,
        // Arabic letter mark, zero-width and directional marks, line/paragraph separators, bidi embeddings and
        // overrides, bidi isolates, the byte order mark, interlinear annotation: invisible, and they reorder or hide text.
        '\u061c' or '\u200b' or '\u200c' or '\u200d' or '\u200e' or '\u200f' or '\u2028' or '\u2029' => true,
        >= '\u202a' and <= '\u202e' => true,
        >= '\u2066' and <= '\u2069' => true,
        '\ufeff' or (>= '\ufff9' and <= '\ufffb') => true,
        _ => false,
    };
}
