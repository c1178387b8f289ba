using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>Single sign-on settings fail closed: every error named by file and line, and the controller does not start.</summary>
[TestClass]
public sealed class SsoSettingsTests
{
    [TestMethod]
    public async Task Bad_sso_settings_name_every_error_by_line_and_the_controller_does_not_start()
    {
        using var data = new TempDirectory();
        var settings = Path.Combine(data.Path, "sso.yaml");
        File.WriteAllText(settings, "authority: http://idp.example\nclientId: hawser\nclientSecretFile: nosuch\ngroups:\n  ops: {role: root}\n  web: {role: admin, selector: \"role=web\"}\n");
        var init = await HawserProcesses.RunAsync("hawser-controller", ["init", "--data", Path.Combine(data.Path, "d")]);
        Assert.AreEqual(0, init.ExitCode, init.Output);

        var run = await HawserProcesses.RunAsync("hawser-controller", ["run", "--data", Path.Combine(data.Path, "d"), "--listen", "127.0.0.1:0", "--sso", settings]);

        Assert.AreEqual(64, run.ExitCode, run.Output);
        Assert.DoesNotContain("listening", run.StandardOutput);
        StringAssert.Contains(run.StandardError, $"{settings}:1:12: authority 'http://idp.example' must be an https:// URL");
        StringAssert.Contains(run.StandardError, $"{settings}:3:19: clientSecretFile nosuch cannot be read");
        StringAssert.Contains(run.StandardError, $"{settings}:5:15: groups.ops.role must be viewer, operator or admin");
        StringAssert.Contains(run.StandardError, $"{settings}:6:32: groups.web: an admin cannot be scoped");
        Assert.DoesNotContain("   at ", run.Output, "no stack trace");
    }
}
