using Hawser.TestSupport;

namespace Hawser.Ctl.Tests;

/// <summary>Issue 29, item 15: one way to say a default in help, and one error for one mistake.</summary>
[TestClass]
public sealed class HelpDefaultsTests
{
    [TestMethod]
    public async Task Help_says_each_default_once_as_the_option_takes_it()
    {
        var help = await HawserProcesses.RunAsync("hawserctl", ["apply", "--help"]);

        Assert.AreEqual(0, help.ExitCode, help.Output);
        Assert.DoesNotContain("[default: 00:", help.StandardOutput, "a duration as 2m, not a clock");
        Assert.DoesNotContain("[default: Table]", help.StandardOutput, "the output format as typed");
        Assert.DoesNotContain("[default: /", help.StandardOutput, "the config's default is described once");
        StringAssert.Contains(help.StandardOutput, "[default: 25%]");
    }

    [TestMethod]
    public async Task A_duration_without_a_unit_is_one_error()
    {
        var result = await HawserProcesses.RunAsync("hawserctl", ["token", "create", "--ttl", "5"]);

        Assert.AreEqual(64, result.ExitCode, result.Output);
        Assert.AreEqual(1, result.StandardError.Split('\n').Count(l => l.StartsWith("error:", StringComparison.Ordinal)), result.Output);
        StringAssert.Contains(result.StandardError, "--ttl '5' has no unit");
    }
}
