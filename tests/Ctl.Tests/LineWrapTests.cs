using Hawser.Ctl.Output;

namespace Hawser.Ctl.Tests;

/// <summary>Issue 29, item 6: events' and diff's lines on a narrow terminal wrap at spaces, never inside a word.</summary>
[TestClass]
public sealed class LineWrapTests
{
    [TestMethod]
    public void A_long_line_wraps_at_spaces_with_its_continuations_indented_and_every_word_whole()
    {
        const string line = "    sysctl:net.ipv4.tcp_keepalive_time /proc/sys/net/ipv4/tcp_keepalive_time: 7200 -> 600 (set live and for boot in /etc/sysctl.d/60-hawser.conf)";

        var pieces = ConsoleOutput.Wrap(line, 60).ToList();

        Assert.IsGreaterThan(1, pieces.Count);
        Assert.IsTrue(pieces.All(p => p.Length <= 60 || !p.Trim().Contains(' ')), string.Join("\n", pieces));
        Assert.IsTrue(pieces.Skip(1).All(p => p.StartsWith("        ", StringComparison.Ordinal)), "continuations indented under the line\n" + string.Join("\n", pieces));
        CollectionAssert.AreEqual(line.Split(' ', StringSplitOptions.RemoveEmptyEntries), string.Join(' ', pieces).Split(' ', StringSplitOptions.RemoveEmptyEntries),
            "every word whole, in order");
    }

    [TestMethod]
    public void A_word_wider_than_the_terminal_stays_whole()
    {
        var serial = new string('A', 70);

        var pieces = ConsoleOutput.Wrap($"serial {serial} installed", 40).ToList();

        CollectionAssert.Contains(pieces.Select(p => p.Trim()).ToList(), serial);
    }
}
