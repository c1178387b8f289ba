using Hawser.Shared.Cli;

namespace Hawser.Shared.Tests.Cli;

/// <summary>What hawserctl does to text that did not come from the operator before a terminal sees it.</summary>
[TestClass]
public sealed class TerminalTextTests
{
    [TestMethod]
    [DataRow("\u001b]52;c;ZXZpbA==\u0007", "\\x1b]52;c;ZXZpbA==\\x07")]
    [DataRow("\u001b[2J\u001b[H", "\\x1b[2J\\x1b[H")]
    [DataRow("a\nweb2 : ok=5", "a⏎web2 : ok=5")]
    [DataRow("tab\there\r", "tab\\there\\r")]
    [DataRow("\u009b31m", "\\x9b31m")]
    [DataRow("\u007f", "\\x7f")]
    [DataRow("abc\u202egnp.exe", "abc\\u202Egnp.exe")]
    [DataRow("\u2066x\u2069\u2028\u200f", "\\u2066x\\u2069\\u2028\\u200F")]
    public void Every_control_and_reordering_character_is_shown_not_acted_on(string text, string shown)
    {
        Assert.AreEqual(shown, TerminalText.Neutralize(text));
        Assert.IsFalse(TerminalText.HasUnsafe(TerminalText.Neutralize(text)));
        Assert.IsTrue(TerminalText.HasUnsafe(text));
    }

    [TestMethod]
    public void Ordinary_text_is_left_as_it_is_even_outside_ascii()
    {
        const string text = "web1: fq -> bbr · Größe 日本 🚀 ≥ 1";

        Assert.AreSame(text, TerminalText.Neutralize(text));
    }

    [TestMethod]
    public void Multi_line_text_of_the_program_keeps_its_lines_and_loses_the_rest()
    {
        Assert.AreEqual("a: 1\n\tb: \\x1b[31m\n", TerminalText.Neutralize("a: 1\n\tb: \u001b[31m\n", keepLineFeeds: true));
    }
}
