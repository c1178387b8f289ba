using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Hawser.Shared.Configuration;

/// <summary>
/// One pass over YAML's events before any tree is built: refuses nesting deep enough to exhaust the
/// stack of a recursive reader, control characters in any key or value (a NUL in a sysctl value once
/// became a second line in sysctl.d), and, where asked, anchors and aliases (alias bombs).
/// </summary>
public static class YamlPreflight
{
    /// <summary>The deepest nesting of mappings and lists accepted; real specs use under ten.</summary>
    public const int MaxDepth = 64;

    /// <summary>The first problem in <paramref name="text"/> with where it is, or null when there is none.</summary>
    public static (Mark Where, string Message)? Check(string text, bool refuseAnchors)
    {
        // YamlDotNet reports a tab in indentation at 1:1; say where it is.
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            var indent = line.Length - line.TrimStart(' ', '\t').Length;
            if (line.AsSpan(0, indent).Contains('\t') && indent < line.TrimEnd('\r').Length)
            {
                var column = line.IndexOf('\t', StringComparison.Ordinal) + 1;
                return (new Mark(0, lineNumber, column), "a tab is used for indentation; YAML indents with spaces");
            }
        }
        var parser = new Parser(new StringReader(text));
        var depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case AnchorAlias alias when refuseAnchors:
                        return (alias.Start, $"YAML aliases (*{alias.Value}) are not allowed in a spec; write the value out");
                    case NodeEvent { Anchor.IsEmpty: false } node when refuseAnchors:
                        return (node.Start, $"YAML anchors (&{node.Anchor}) are not allowed in a spec; write the value out");
                    case MappingStart or SequenceStart when ++depth > MaxDepth:
                        return (parser.Current.Start, $"the YAML nests deeper than {MaxDepth} levels");
                    case MappingEnd or SequenceEnd:
                        depth--;
                        break;
                    case Scalar scalar when FirstControl(scalar.Value) is { } control:
                        return (scalar.Start, $"the value contains the control character U+{(int)control:X4}; values are one-line text without control characters");
                }
            }
        }
        catch (YamlException ex)
        {
            return (ex.Start, ex.InnerException?.Message ?? ex.Message);
        }
        return null;
    }

    /// <summary>
    /// The first character that must not reach a file or the kernel: C0 controls but tab, DEL, C1
    /// controls, and the Unicode line and paragraph separators.
    /// </summary>
    public static char? FirstControl(string value)
    {
        foreach (var c in value)
        {
            if ((c < ' ' && c != '\t') || c is >= '\u007F' and <= '\u009F' || c is '\u2028' or '\u2029')
            {
                return c;
            }
        }
        return null;
    }
}
