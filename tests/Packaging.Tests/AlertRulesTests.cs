using Hawser.TestSupport;

namespace Hawser.Packaging.Tests;

/// <summary>The shipped alert rules, as Debian's promtool checks them, and their unit tests (each alert fires on a failing fleet's series, not before its time).</summary>
[TestClass]
public sealed class AlertRulesTests
{
    private static string Directory => Path.Combine(RepoPaths.Root, "packaging", "prometheus");

    [TestMethod]
    public async Task Promtool_checks_the_rules_and_their_unit_tests_pass()
    {
        var check = await ExternalProcess.RunAsync("promtool", ["check", "rules", Path.Combine(Directory, "hawser-rules.yml")], TimeSpan.FromSeconds(60));
        var test = await ExternalProcess.RunAsync("promtool", ["test", "rules", Path.Combine(Directory, "hawser-rules.test.yml")], TimeSpan.FromSeconds(120));

        Assert.AreEqual(0, check.ExitCode, check.Output);
        StringAssert.Contains(check.Output, "SUCCESS: 11 rules found");
        Assert.AreEqual(0, test.ExitCode, test.Output);
        StringAssert.Contains(test.Output, "SUCCESS");
    }

    [TestMethod]
    public async Task A_rule_that_no_longer_fires_as_its_unit_test_says_fails_the_unit_test()
    {
        // The unit tests can fail: the same tests against rules whose failed-node alert waits 10 minutes instead of 5.
        using var copy = new TempDirectory();
        File.WriteAllText(Path.Combine(copy.Path, "hawser-rules.yml"), File.ReadAllText(Path.Combine(Directory, "hawser-rules.yml"))
            .Replace("hawser_node_state{state=\"failed\"}) == 1\n        for: 5m", "hawser_node_state{state=\"failed\"}) == 1\n        for: 10m", StringComparison.Ordinal));
        File.Copy(Path.Combine(Directory, "hawser-rules.test.yml"), Path.Combine(copy.Path, "hawser-rules.test.yml"));

        var test = await ExternalProcess.RunAsync("promtool", ["test", "rules", Path.Combine(copy.Path, "hawser-rules.test.yml")], TimeSpan.FromSeconds(120));

        Assert.AreNotEqual(0, test.ExitCode, test.Output);
        StringAssert.Contains(test.Output, "alertname: HawserNodeFailed, time: 6m");
    }
}
