using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Hawser.Shared.Configuration;

/// <summary>
/// Checks on YAML's events before any tree is built from them: refuses nesting deep enough to exhaust the
/// stack of a recursive reader, control characters in any key or value (a NUL in a sysctl value once
/// became a second line in sysctl.d), and, where asked, anchors and aliases (alias bombs).
/// </summary>
public static class YamlPreflight
{
    /// <summary>The deepest nesting of mappings and lists accepted; real specs use under ten.</summary>
    public const int MaxDepth = 64;

    /// <summary>Where and what a loader's <see cref="YamlException"/> says, the checks' own or the parser's.</summary>
    public static (Mark Where, string Message) Problem(YamlException ex) =>
        (ex.Start, ex is YamlRefusedException refused ? refused.Reason : ex.InnerException?.Message ?? ex.Message);

    /// <summary>A line indented with a tab, which YamlDotNet reports at 1:1: where it is.</summary>
    public static (Mark Where, string Message)? TabIndent(string text)
    {
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            var indent = line.Length - line.TrimStart(' ', '\t').Length;
            if (line.AsSpan(0, indent).Contains('\t') && indent < line.TrimEnd('\r').Length)
            {
                return (new Mark(0, lineNumber, line.IndexOf('\t', StringComparison.Ordinal) + 1), "a tab is used for indentation; YAML indents with spaces");
            }
        }
        return null;
    }

    /// <summary>
    /// A parser that checks each event as a loader pulls it, so the text is parsed once: it throws
    /// <see cref="YamlRefusedException"/> at the first refused event, before the loader has seen it.
    /// </summary>
    public sealed class CheckedParser(IParser inner, bool refuseAnchors) : IParser
    {
        private int _depth;

        /// <inheritdoc/>
        public ParsingEvent? Current => inner.Current;

        /// <inheritdoc/>
        public bool MoveNext()
        {
            if (!inner.MoveNext())
            {
                return false;
            }
            switch (inner.Current)
            {
                case AnchorAlias alias when refuseAnchors:
                    throw new YamlRefusedException(alias.Start, $"YAML aliases (*{alias.Value}) are not allowed in a spec; write the value out");
                case NodeEvent { Anchor.IsEmpty: false } node when refuseAnchors:
                    throw new YamlRefusedException(node.Start, $"YAML anchors (&{node.Anchor}) are not allowed in a spec; write the value out");
                case MappingStart or SequenceStart when ++_depth > MaxDepth:
                    throw new YamlRefusedException(inner.Current.Start, $"the YAML nests deeper than {MaxDepth} levels");
                case MappingEnd or SequenceEnd:
                    _depth--;
                    break;
                case Scalar scalar when FirstControl(scalar.Value) is { } control:
                    throw new YamlRefusedException(scalar.Start, $"the value contains the control character U+{(int)control:X4}; values are one-line text without control characters");
            }
            return true;
        }
    }

    /// <summary>An event <see cref="CheckedParser"/> refuses; <see cref="Reason"/> is the message without YamlDotNet's position prefix.</summary>
    public sealed class YamlRefusedException(Mark start, string reason) : YamlException(start, start, reason)
    {
        /// <summary>Why the event was refused.</summary>
        public string Reason { get; } = reason;
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
