using Hawser.TestSupport;

namespace Hawser.Ctl.Tests;

/// <summary>Every duration option of the three binaries reads durations one way, and a bare number is refused (it once meant days).</summary>
[TestClass]
public sealed class DurationOptionTests
{
    [TestMethod]
    [DataRow("hawserctl", 64, "--pause '5' has no unit: write 5s, 5m or 5h", "--controller", "http://127.0.0.1:1", "rollout", "start", "2", "--batch", "1", "--pause", "5")]
    [DataRow("hawserctl", 64, "--hold 'ten' is not a duration", "--controller", "http://127.0.0.1:1", "rollout", "start", "2", "--hold", "ten")]
    [DataRow("hawserctl", 64, "--gate-timeout '90' has no unit", "--controller", "http://127.0.0.1:1", "apply", "-f", "/dev/null", "--rollout", "--gate-timeout", "90")]
    [DataRow("hawserctl", 64, "--ttl '5' has no unit", "--controller", "http://127.0.0.1:1", "token", "create", "--ttl", "5")]
    [DataRow("hawserctl", 64, "--ttl must be a positive duration, not '-1h'", "--controller", "http://127.0.0.1:1", "token", "create", "--ttl", "-1h")]
    [DataRow("hawser-agent", 64, "--interval '5' has no unit", "run", "--controller", "https://127.0.0.1:1", "--node", "web1", "--interval", "5")]
    [DataRow("hawser-controller", 64, "--certificate-retry '5' has no unit", "run", "--certificate-retry", "5")]
    [DataRow("hawser-controller", 64, "--wait '60' has no unit", "install", "--wait", "60")]
    public async Task A_duration_without_a_unit_is_refused_naming_the_option(string binary, int exitCode, string message, params string[] arguments)
    {
        var result = await HawserProcesses.RunAsync(binary, arguments);

        Assert.AreEqual(exitCode, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, message);
        Assert.DoesNotContain("   at ", result.Output);
    }

    [TestMethod]
    [DataRow("30s")]
    [DataRow("1h30m")]
    [DataRow("00:00:30")]
    [DataRow("500ms")]
    public async Task Units_and_clocks_are_accepted(string duration)
    {
        // Parsed, then refused only for want of a controller: exit 3, not 2.
        var result = await HawserProcesses.RunAsync("hawserctl", ["--controller", "http://127.0.0.1:1", "rollout", "start", "2", "--pause", duration]);

        Assert.AreEqual(3, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, "cannot reach the controller");
    }
}
