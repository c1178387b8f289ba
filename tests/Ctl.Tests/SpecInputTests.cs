using System.Text;
using Hawser.TestSupport;

namespace Hawser.Ctl.Tests;

/// <summary>What <c>hawserctl apply</c> and the controller do with a spec that is endless, not text, or nested to exhaust a stack.</summary>
[TestClass]
public sealed class SpecInputTests
{
    private static Task<ProcessResult> Ctl(params string[] arguments) => HawserProcesses.RunAsync("hawserctl", arguments);

    [TestMethod]
    public async Task An_endless_spec_file_is_refused_at_the_limit_before_any_call()
    {
        var result = await Ctl("--controller", "http://127.0.0.1:1", "apply", "-f", "/dev/zero");

        Assert.AreEqual(64, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, "/dev/zero:1:1: the file is larger than the 1024 KiB limit");
        Assert.DoesNotContain("cannot reach", result.StandardError);
    }

    [TestMethod]
    public async Task A_spec_that_is_not_UTF8_is_refused_with_its_line_before_any_call()
    {
        using var temp = new TempDirectory();
        var spec = Path.Join(temp.Path, "spec.yaml");
        File.WriteAllBytes(spec, [.. "apiVersion: hawser/v1\nnodes:\n  web1: {labels: {role: w"u8, 0xE9, .. "b}}\n"u8]);

        var result = await Ctl("--controller", "http://127.0.0.1:1", "diff", "-f", spec);

        Assert.AreEqual(64, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, $"{spec}:3:26: byte 0xE9 is not UTF-8 text");
    }

    [TestMethod]
    public async Task Deep_nesting_is_refused_by_the_controller_with_its_line_and_the_controller_keeps_serving()
    {
        using var temp = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(temp.Path);
        var spec = Path.Join(temp.Path, "deep.yaml");
        File.WriteAllText(spec, "apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {a.b: " + new string('[', 50_000) + new string(']', 50_000) + "}\n");

        var refused = await Ctl("--config", controller.CtlConfig, "apply", "-f", spec);
        var status = await Ctl("--config", controller.CtlConfig, "status");

        Assert.AreEqual(1, refused.ExitCode, refused.Output);
        StringAssert.Contains(refused.StandardError, $"{spec}:4:");
        StringAssert.Contains(refused.StandardError, "nests deeper than 64 levels");
        Assert.AreEqual(0, status.ExitCode, "the controller is still serving: " + status.Output);
    }
}
