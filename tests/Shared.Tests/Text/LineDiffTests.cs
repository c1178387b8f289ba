using Hawser.Shared.Text;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Text;

/// <summary>The unified diff hawserctl and the web UI show, checked against GNU diff -u on the same texts.</summary>
[TestClass]
public sealed class LineDiffTests
{
    private static readonly string Spec = string.Join("", Enumerable.Range(1, 30).Select(i => $"line {i}\n"));

    [TestMethod]
    [DataRow("one line changed in the middle")]
    [DataRow("lines added at the end")]
    [DataRow("the first line removed")]
    [DataRow("two changes far apart")]
    [DataRow("two changes close together")]
    [DataRow("from nothing")]
    public async Task Hunks_are_the_ones_diff_u_prints(string change)
    {
        var lines = Spec.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        var old = Spec;
        switch (change)
        {
            case "one line changed in the middle": lines[14] = "line 15 changed"; break;
            case "lines added at the end": lines.AddRange(["extra 1", "extra 2"]); break;
            case "the first line removed": lines.RemoveAt(0); break;
            case "two changes far apart": lines[2] = "x"; lines[25] = "y"; break;
            case "two changes close together": lines[10] = "x"; lines[15] = "y"; break;
            case "from nothing": old = ""; break;
        }
        var updated = string.Join("", lines.Select(l => l + "\n"));
        using var temp = new TempDirectory();
        File.WriteAllText(Path.Join(temp.Path, "a"), old);
        File.WriteAllText(Path.Join(temp.Path, "b"), updated);

        var gnu = await ExternalProcess.RunAsync("diff", ["-u", "--label", "revision 1", "--label", "revision 2", "a", "b"], workingDirectory: temp.Path);
        var ours = LineDiff.Unified(old, updated, "revision 1", "revision 2");

        Assert.AreEqual(1, gnu.ExitCode, gnu.Output);
        Assert.AreEqual(gnu.StandardOutput, ours);
    }

    [TestMethod]
    public void The_same_text_has_no_hunks() => Assert.AreEqual("", LineDiff.Unified(Spec, Spec, "a", "b"));
}
