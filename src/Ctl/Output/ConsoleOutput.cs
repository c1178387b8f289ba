using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Hawser.Ctl.Commands;
using Hawser.Shared.Cli;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Hawser.Ctl.Output;

/// <summary>
/// Everything hawserctl prints goes through here: tables and messages for people on stdout,
/// JSON for scripts on stdout, errors on stderr (as JSON too with -o json). Text for people is neutralised here
/// (<see cref="TerminalText"/>): a line written is one line, and no control character in it reaches the terminal.
/// Table cells are made with <see cref="Cell"/>, which neutralises before the table is laid out.
/// </summary>
internal sealed class ConsoleOutput(OutputFormat format, IAnsiConsole? stdout = null, TextWriter? stderr = null)
{
    private readonly IAnsiConsole _stdout = stdout ?? TerminalConsole.CreateStdout();
    private readonly TextWriter _stderr = stderr ?? Console.Error;

    /// <summary>The format in force.</summary>
    public OutputFormat Format { get; } = format;

    /// <summary>Prints a value as JSON.</summary>
    public void WriteJson<T>(T value, JsonTypeInfo<T> typeInfo) =>
        _stdout.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(value, typeInfo));

    /// <summary>Prints a value as JSON on one line (a stream of JSON lines, as --follow writes).</summary>
    public void WriteJsonLine<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        using var document = JsonSerializer.SerializeToDocument(value, typeInfo);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            document.WriteTo(writer);
        }
        _stdout.Profile.Out.Writer.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        _stdout.Profile.Out.Writer.Flush();
    }

    /// <summary>A table cell showing <paramref name="text"/> as it is: no markup, no control character, one line.</summary>
    public static string Cell(string text) => Markup.Escape(TerminalText.Neutralize(text));

    /// <summary>Prints a table; on a terminal narrower than it, columns give way as <paramref name="layout"/> says (default: the last first).</summary>
    public void WriteTable(Table table, TableLayout? layout = null)
    {
        if (_stdout.Profile.Capabilities.Ansi)
        {
            WriteFitted(table, layout ?? TableLayout.LastFirst);
            return;
        }
        // In a pipe or a file: no padding lines, no trailing blanks, so grep, diff and copy see only the values.
        using var writer = new StringWriter();
        var plain = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(writer) });
        plain.Profile.Width = _stdout.Profile.Width;
        plain.Write(table);
        foreach (var line in writer.ToString().Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0))
        {
            // Cells are neutralised when made (Cell); this keeps a cell made otherwise from reaching a pipe raw.
            _stdout.Profile.Out.Writer.WriteLine(TerminalText.Neutralize(line));
        }
    }

    /// <summary>Prints multi-line text (a stored spec), never through markup; its line feeds and tabs kept, every other control character shown.</summary>
    public void WriteRaw(string text) => _stdout.Profile.Out.Writer.Write(TerminalText.Neutralize(text, keepLineFeeds: true));

    /// <summary>Prints a line in <paramref name="style"/> (a Spectre style name) on a terminal, plain in a pipe.</summary>
    public void WriteColoured(string line, string? style)
    {
        line = TerminalText.Neutralize(line);
        if (!_stdout.Profile.Capabilities.Ansi)
        {
            _stdout.Profile.Out.Writer.WriteLine(line);
            return;
        }
        foreach (var piece in Wrap(line, _stdout.Profile.Width))
        {
            _stdout.Profile.Out.Writer.WriteLine(style is null ? piece : Colour(piece, style));
        }
    }

    /// <summary>Prints a plain line for people (never in JSON mode); on a terminal it wraps at spaces, never inside a word.</summary>
    public void WriteLine(string text) => WriteColoured(text, null);

    private static string Colour(string text, string style) => style switch
    {
        "red" => $"\u001b[31m{text}\u001b[0m",
        "yellow" => $"\u001b[33m{text}\u001b[0m",
        "green" => $"\u001b[32m{text}\u001b[0m",
        _ => text,
    };

    /// <summary>
    /// A line cut at spaces into pieces no wider than <paramref name="width"/>, each after the first indented as the line
    /// is and four more; a word wider than that stays whole (a path or a serial is copied, not read across a break).
    /// </summary>
    internal static IEnumerable<string> Wrap(string line, int width)
    {
        if (line.Length <= width || width < 20)
        {
            yield return line;
            yield break;
        }
        var indent = new string(' ', Math.Min(line.Length - line.TrimStart(' ').Length + 4, width / 2));
        var current = new System.Text.StringBuilder();
        var first = true;
        foreach (var word in line.TrimStart(' ').Split(' '))
        {
            var lead = first ? line[..(line.Length - line.TrimStart(' ').Length)] : indent;
            if (current.Length > 0 && current.Length + 1 + word.Length > width)
            {
                yield return current.ToString();
                current.Clear();
                first = false;
            }
            if (current.Length == 0)
            {
                current.Append(first ? lead : indent).Append(word);
            }
            else
            {
                current.Append(' ').Append(word);
            }
        }
        if (current.Length > 0)
        {
            yield return current.ToString();
        }
    }

    /// <summary>A note for the person about what the command does (stderr, so stdout stays the data; plain text in every format).</summary>
    public void WriteNote(string text)
    {
        _stderr.WriteLine(TerminalText.Neutralize(text));
        _stderr.Flush();
    }

    /// <summary>Prints an error to stderr, with an optional machine-readable code.</summary>
    public void WriteError(string message, string? code = null)
    {
        if (Format == OutputFormat.Json)
        {
            _stderr.WriteLine(JsonSerializer.Serialize(new ErrorOutput(message, code), CtlJsonContext.Default.ErrorOutput));
            return;
        }
        // A controller's error may list several problems, one a line; nothing else in it acts on the terminal.
        _stderr.WriteLine($"error: {TerminalText.Neutralize(message, keepLineFeeds: true)}");
    }

    /// <summary>
    /// Runs <paramref name="work"/> while showing each of <paramref name="nodes"/>' progress: on a terminal a live table
    /// (Spectre.Console) that changes in place; in a pipe one line per node as it finishes; nothing in JSON mode.
    /// </summary>
    public async Task WithProgressAsync(IEnumerable<string> nodes, Func<IConvergeProgress, Task> work)
    {
        if (Format == OutputFormat.Json)
        {
            await work(new LineProgress(null));
            return;
        }
        if (!_stdout.Profile.Capabilities.Ansi || !_stdout.Profile.Capabilities.Interactive)
        {
            await work(new LineProgress(_stdout.Profile.Out.Writer));
            return;
        }
        var table = new Table().Border(TableBorder.Simple).AddColumns("NODE", "PROGRESS", "DETAIL");
        var rows = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            rows[node] = table.Rows.Count;
            table.AddRow(Cell(node), "[grey]waiting[/]", "");
        }
        await _stdout.Live(table).StartAsync(async context => await work(new LiveProgress(table, rows, context)));
    }

    /// <summary>A line per finished node, for pipes and files (or nothing at all).</summary>
    private sealed class LineProgress(TextWriter? writer) : IConvergeProgress
    {
        public void Waiting(string node, string detail)
        {
        }

        public void Finished(NodeOutcome outcome) =>
            writer?.WriteLine(TerminalText.Neutralize($"{outcome.Node}: {outcome.Result} ({Counts(outcome)})"));

        public void Refresh()
        {
        }
    }

    /// <summary>The live table's rows, changed in place.</summary>
    private sealed class LiveProgress(Table table, Dictionary<string, int> rows, LiveDisplayContext context) : IConvergeProgress
    {
        public void Waiting(string node, string detail) => Set(node, "[yellow]waiting[/]", detail);

        public void Finished(NodeOutcome outcome) => Set(outcome.Node, outcome.Result switch
        {
            "failed" => "[red]failed[/]", "unreachable" => "[yellow]unreachable[/]", _ => $"[green]{outcome.Result}[/]",
        }, Counts(outcome));

        public void Refresh() => context.Refresh();

        private void Set(string node, string state, string detail)
        {
            if (rows.TryGetValue(node, out var row))
            {
                table.UpdateCell(row, 1, state);
                table.UpdateCell(row, 2, Cell(detail));
            }
        }
    }

    private static string Counts(NodeOutcome o) => o.Result == "unreachable" ? o.Why ?? "no report"
        : $"ok={o.Ok} changed={o.Changed} failed={o.Failed}";

    /// <summary>
    /// On a terminal: no value is ever broken across lines (a serial must stay copyable), except prose columns, which wrap
    /// at spaces. When the table is wider than the terminal, columns give way in the layout's order (the first two, the
    /// row's name and state, stay) and a line says which; <c>-o wide</c> keeps them all.
    /// </summary>
    private void WriteFitted(Table table, TableLayout layout)
    {
        var options = RenderOptions.Create(_stdout, _stdout.Profile.Capabilities);
        var columns = table.Columns.Count;
        var natural = new int[columns];
        for (var c = 0; c < columns; c++)
        {
            natural[c] = ((IRenderable)table.Columns[c].Header).Measure(options, int.MaxValue).Max;
        }
        foreach (var row in table.Rows)
        {
            var c = 0;
            foreach (var cell in row)
            {
                natural[c] = Math.Max(natural[c], cell.Measure(options, int.MaxValue).Max);
                c++;
            }
        }
        var kept = Enumerable.Range(0, columns).ToList();
        // A prose column needs only room for a few words: it wraps into what is left.
        int Needs(int c) => layout.Prose.Contains(c) ? Math.Min(natural[c], TableLayout.ProseWidth) : natural[c];
        // Each column of the simple border takes its width and three more (padding and rule).
        int Width() => kept.Sum(c => Needs(c) + 3) + 1;
        var order = layout.GiveWay(columns);
        while (Format != OutputFormat.Wide && Width() > _stdout.Profile.Width && kept.Count > 2)
        {
            kept.Remove(order.First(kept.Contains));
        }
        var fitted = new Table().Border(table.Border);
        foreach (var c in kept)
        {
            var column = new TableColumn(table.Columns[c].Header);
            fitted.AddColumn(Format != OutputFormat.Wide && layout.Prose.Contains(c) ? column : column.NoWrap());
        }
        foreach (var row in table.Rows)
        {
            var cells = row.ToList();
            fitted.AddRow(kept.Select(c => cells[c]));
        }
        if (Format == OutputFormat.Wide)
        {
            // Let the terminal fold the long lines; the table itself breaks no value.
            _stdout.Profile.Width = Math.Max(_stdout.Profile.Width, kept.Sum(c => natural[c] + 3) + 1);
        }
        _stdout.Write(fitted);
        if (kept.Count < columns)
        {
            var hidden = Enumerable.Range(0, columns).Except(kept).Select(c => Plain(table.Columns[c].Header, options));
            // Written as it is: a hint that wraps would break its own words.
            _stdout.Profile.Out.Writer.WriteLine($"(hidden: {string.Join(", ", hidden)}; -o wide shows all)");
        }
    }

    private static string Plain(IRenderable renderable, RenderOptions options) =>
        string.Concat(renderable.Render(options, int.MaxValue).Select(segment => segment.Text)).Trim();
}

/// <summary>
/// How a table fits a narrow terminal: which columns give way first (their indices; the rest, last first, after them), and
/// which hold prose that may wrap at spaces instead of being hidden.
/// </summary>
internal sealed record TableLayout(IReadOnlyList<int> GivesWayFirst, IReadOnlySet<int> Prose)
{
    /// <summary>The last column gives way first, nothing wraps.</summary>
    public static readonly TableLayout LastFirst = new([], new HashSet<int>());

    /// <summary>How narrow a prose column may get before it gives way too.</summary>
    public const int ProseWidth = 24;

    /// <summary>Every column index in the order they give way.</summary>
    public IReadOnlyList<int> GiveWay(int columns) =>
        [.. GivesWayFirst.Where(c => c < columns), .. Enumerable.Range(0, columns).Reverse().Except(GivesWayFirst)];
}
