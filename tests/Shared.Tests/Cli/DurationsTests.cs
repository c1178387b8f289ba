using Hawser.Shared.Cli;

namespace Hawser.Shared.Tests.Cli;

/// <summary>The duration grammar (logic only).</summary>
[TestClass]
public sealed class DurationsTests
{
    [TestMethod]
    [DataRow("30s", 30_000)]
    [DataRow("5m", 300_000)]
    [DataRow("2h", 7_200_000)]
    [DataRow("1d", 86_400_000)]
    [DataRow("1h30m", 5_400_000)]
    [DataRow("1.5s", 1_500)]
    [DataRow("500ms", 500)]
    [DataRow("0s", 0)]
    [DataRow("01:00:00", 3_600_000)]
    [DataRow("00:00:00.5", 500)]
    [DataRow("1.00:00:00", 86_400_000)]
    public void Accepted(string text, long milliseconds)
    {
        Assert.IsTrue(Durations.TryParse(text, "--x", out var value, out var error), error);
        Assert.AreEqual(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [TestMethod]
    [DataRow("5", "--x '5' has no unit: write 5s, 5m or 5h")]
    [DataRow("1.5", "--x '1.5' has no unit")]
    [DataRow("ten minutes", "--x 'ten minutes' is not a duration")]
    [DataRow("5 s", "is not a duration")]
    [DataRow("1y", "is not a duration")]
    [DataRow("-00:01:00", "--x must be a positive duration")]
    [DataRow("", "is not a duration")]
    public void Refused(string text, string message)
    {
        Assert.IsFalse(Durations.TryParse(text, "--x", out _, out var error));
        StringAssert.Contains(error, message);
    }

    [TestMethod]
    [DataRow(30_000, "30s")]
    [DataRow(5_400_000, "1h30m")]
    [DataRow(500, "500ms")]
    [DataRow(90_061_000, "1d1h1m1s")]
    public void Formatted_short(long milliseconds, string text) => Assert.AreEqual(text, Durations.Format(TimeSpan.FromMilliseconds(milliseconds)));
}
