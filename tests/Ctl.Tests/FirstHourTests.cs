using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Ctl.Tests;

/// <summary>What a new user hit in the first hour (issue 16), each through the real hawserctl against a real controller where one is needed.</summary>
[TestClass]
public sealed class FirstHourTests
{
    private static Task<ProcessResult> Ctl(params string[] arguments) => HawserProcesses.RunAsync("hawserctl", arguments);

    [TestMethod]
    public async Task A_bad_controller_URL_in_the_environment_is_one_line_and_exit_64()
    {
        var result = await HawserProcesses.RunAsync("hawserctl", ["status"], environment: new Dictionary<string, string> { ["HAWSER_CONTROLLER"] = "not-a-url" });

        Assert.AreEqual(64, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, "$HAWSER_CONTROLLER 'not-a-url' is not an http:// or https:// URL");
        Assert.DoesNotContain("   at ", result.Output);
    }

    [TestMethod]
    public async Task An_unknown_output_format_names_the_accepted_ones()
    {
        var result = await Ctl("-o", "yaml", "status");

        Assert.AreEqual(64, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, "--output 'yaml' is not an output format; use table, wide or json");
        Assert.DoesNotContain("Hawser.Ctl", result.StandardError, "no type names");
    }

    [TestMethod]
    [DataRow("hawserctl", new[] { "stauts" }, "'stauts' is not a hawserctl command. Did you mean 'status'?", 64)]
    [DataRow("hawserctl", new[] { "rollout", "pasue", "1" }, "'pasue' is not a rollout command. Did you mean 'pause'?", 64)]
    [DataRow("hawserctl", new[] { "certz" }, "'certz' is not a hawserctl command. Did you mean 'certs'?", 64)]
    [DataRow("hawser-agent", new[] { "aply" }, "'aply' is not a hawser-agent command. Did you mean 'apply'?", 64)]
    [DataRow("hawser-controller", new[] { "rnu" }, "'rnu' is not a hawser-controller command. Did you mean 'run'?", 64)]
    public async Task A_misspelled_verb_gets_one_line_and_the_nearest_verb(string binary, string[] arguments, string message, int exitCode)
    {
        var result = await HawserProcesses.RunAsync(binary, arguments);

        Assert.AreEqual(exitCode, result.ExitCode, result.Output);
        Assert.AreEqual($"error: {message}", result.StandardError.Split('\n')[0]);
        Assert.DoesNotContain("Required command was not provided", result.StandardError);
    }

    [TestMethod]
    public async Task Nodes_with_a_selector_that_matches_none_says_so_and_the_join_line_has_the_real_URL()
    {
        using var temp = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(temp.Path);
        var none = await Ctl("--config", controller.CtlConfig, "nodes", "-l", "role=db");
        var token = await Ctl("--config", controller.CtlConfig, "token", "create");
        var secret = JsonDocument.Parse((await Ctl("--config", controller.CtlConfig, "token", "create", "-o", "json")).StandardOutput).RootElement.GetProperty("token").GetString()!;
        using var host = new AgentHost();
        host.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
        await using (var agent = AgentProcess.Start(host, "web1", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash))
        {
            await agent.WaitForAsync("connected to");
        }
        var unmatched = await Ctl("--config", controller.CtlConfig, "nodes", "-l", "role=db");
        var table = await Ctl("--config", controller.CtlConfig, "status");

        Assert.AreEqual(0, none.ExitCode, none.Output);
        StringAssert.Contains(none.StandardOutput, "No nodes have enrolled yet.");
        Assert.AreEqual(0, unmatched.ExitCode, unmatched.Output);
        StringAssert.Contains(unmatched.StandardOutput, "No node matches role=db (1 node(s) enrolled");
        Assert.AreEqual(0, token.ExitCode, token.Output);
        StringAssert.Contains(token.StandardOutput, $"hawser-agent run --controller {controller.Address.GetLeftPart(UriPartial.Authority)} --node NAME");
        Assert.DoesNotContain("--controller URL", token.StandardOutput);
        // A table in a pipe: no padding lines, no trailing blanks; the revision column says which is which.
        var lines = table.StandardOutput.TrimEnd('\n').Split('\n');
        Assert.IsTrue(lines.All(l => l.Length > 0 && !l.EndsWith(' ')), "no blank or space-padded lines:\n" + table.StandardOutput.Replace(' ', '·'));
        StringAssert.Contains(table.StandardOutput, "APPLIED/DESIRED");
    }

    [TestMethod]
    [DataRow("apiVersion: hawser/v1\nnodes: [\n  web1: {}\n", ":4:1:", "did not find expected ',' or ']'")]
    [DataRow("apiVersion: hawser/v1\nnodes:\n\tweb1:\n    sysctls: {}\n", ":3:1:", "a tab is used for indentation")]
    public async Task A_malformed_spec_reaches_the_user_as_file_line_column_from_the_controller(string yaml, string where, string message)
    {
        using var temp = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(temp.Path);
        var spec = Path.Combine(temp.Path, "bad.yaml");
        File.WriteAllText(spec, yaml);

        var result = await Ctl("--config", controller.CtlConfig, "apply", "-f", spec);

        Assert.AreEqual(1, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, spec + where);
        StringAssert.Contains(result.StandardError, message);
        Assert.DoesNotContain("Unknown", result.StandardError);
        Assert.DoesNotContain("Exception was thrown by handler", result.StandardError);
    }

    [TestMethod]
    [DataRow("hawserctl", new[] { "status" })]
    [DataRow("hawserctl", new[] { "apply" })]
    [DataRow("hawserctl", new[] { "diff" })]
    [DataRow("hawserctl", new[] { "nodes" })]
    [DataRow("hawserctl", new[] { "token", "create" })]
    [DataRow("hawserctl", new[] { "rollout", "start" })]
    [DataRow("hawserctl", new[] { "rollout", "status" })]
    [DataRow("hawserctl", new[] { "certs", "renew" })]
    [DataRow("hawserctl", new[] { "operator", "add" })]
    [DataRow("hawserctl", new[] { "operator", "enroll" })]
    [DataRow("hawserctl", new[] { "operator", "rotate" })]
    [DataRow("hawserctl", new[] { "operator", "revoke" })]
    [DataRow("hawserctl", new[] { "operator", "list" })]
    [DataRow("hawserctl", new[] { "whoami" })]
    [DataRow("hawserctl", new[] { "events" })]
    [DataRow("hawser-agent", new[] { "apply" })]
    [DataRow("hawser-agent", new[] { "run" })]
    [DataRow("hawser-controller", new[] { "run" })]
    [DataRow("hawser-controller", new[] { "check" })]
    public async Task Each_verbs_help_ends_with_examples_and_shows_the_duration_format(string binary, string[] verb)
    {
        var help = await HawserProcesses.RunAsync(binary, [.. verb, "--help"]);

        Assert.AreEqual(0, help.ExitCode, help.Output);
        var examples = help.StandardOutput.TrimEnd().Split('\n').SkipWhile(l => l != "Examples:").Skip(1).ToList();
        Assert.IsNotEmpty(examples, help.StandardOutput);
        Assert.IsTrue(examples.All(l => l.StartsWith($"  {binary} ", StringComparison.Ordinal)), help.StandardOutput);
        if (help.StandardOutput.Contains("<DURATION>", StringComparison.Ordinal))
        {
            StringAssert.Contains(help.StandardOutput, "(30s, 5m, 2h, 1h30m or 01:00:00)");
        }
    }

    [TestMethod]
    public async Task The_top_level_help_shows_an_optional_node_as_optional()
    {
        var help = await Ctl("--help");

        StringAssert.Contains(help.StandardOutput, "  status [NODE]");
        Assert.DoesNotContain("status <NODE>", help.StandardOutput);
        // The operators' verbs are listed, with examples of them.
        StringAssert.Contains(help.StandardOutput, "\n  operator ");
        StringAssert.Contains(help.StandardOutput, "\n  whoami ");
        StringAssert.Contains(help.StandardOutput, "\nExamples:\n");
        StringAssert.Contains(help.StandardOutput, "  hawserctl operator add alice --role viewer\n");
    }

    [TestMethod]
    public async Task Revisions_show_prints_a_stored_spec_and_diff_prints_hunks_as_diff_u_does()
    {
        using var temp = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(temp.Path);
        var spec = Path.Combine(temp.Path, "spec.yaml");
        var v1 = "apiVersion: hawser/v1\nnodes:\n" + string.Concat(Enumerable.Range(1, 20).Select(i => $"  web{i}: {{labels: {{role: web}}}}\n"))
            + "profiles:\n  web: {selector: {role: web}, sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}}\n  db: {selector: {role: db}, sysctls: {net.ipv4.tcp_keepalive_time: \"700\"}}\n";
        var v2 = v1.Replace("  web10: {labels: {role: web}}", "  web10: {labels: {role: db}}", StringComparison.Ordinal);
        foreach (var text in new[] { v1, v2 })
        {
            File.WriteAllText(spec, text);
            var applied = await Ctl("--config", controller.CtlConfig, "apply", "-f", spec);
            Assert.AreEqual(0, applied.ExitCode, applied.Output);
        }

        var show = await Ctl("--config", controller.CtlConfig, "revisions", "show", "1");
        var diff = await Ctl("--config", controller.CtlConfig, "revisions", "diff", "1", "2");
        var missing = await Ctl("--config", controller.CtlConfig, "revisions", "show", "9");

        Assert.AreEqual(0, show.ExitCode, show.Output);
        Assert.AreEqual(v1, show.StandardOutput);
        Assert.AreEqual(2, diff.ExitCode, diff.Output);
        Assert.AreEqual("""
            --- revision 1
            +++ revision 2
            @@ -9,7 +9,7 @@
               web7: {labels: {role: web}}
               web8: {labels: {role: web}}
               web9: {labels: {role: web}}
            -  web10: {labels: {role: web}}
            +  web10: {labels: {role: db}}
               web11: {labels: {role: web}}
               web12: {labels: {role: web}}
               web13: {labels: {role: web}}

            """, diff.StandardOutput, "one hunk of a one-line change, with line numbers, not the whole file");
        Assert.AreEqual(1, missing.ExitCode, missing.Output);
        StringAssert.Contains(missing.StandardError, "there is no revision 9");
    }

    [TestMethod]
    public async Task On_a_narrow_terminal_the_last_columns_give_way_and_no_value_is_broken()
    {
        using var temp = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(temp.Path);
        var secret = JsonDocument.Parse((await Ctl("--config", controller.CtlConfig, "token", "create", "-o", "json")).StandardOutput).RootElement.GetProperty("token").GetString()!;
        using var host = new AgentHost();
        host.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
        await using var agent = AgentProcess.Start(host, "web1", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash);
        await agent.WaitForAsync("connected to");

        // A real terminal of 60 columns (a pseudo-terminal from util-linux's script).
        async Task<string> OnTerminalAsync(params string[] arguments) => await OnTerminalOfAsync(60, arguments);
        async Task<string> OnTerminalOfAsync(int columns, params string[] arguments)
        {
            var command = $"stty cols {columns} rows 40; dotnet {HawserProcesses.DllPath("hawserctl")} --config {controller.CtlConfig} {string.Join(' ', arguments)}";
            var result = await ExternalProcess.RunAsync("script", ["-qec", command, "/dev/null"]);
            Assert.AreEqual(0, result.ExitCode, result.Output);
            return System.Text.RegularExpressions.Regex.Replace(result.StandardOutput, @"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r", "");
        }
        var narrow = await OnTerminalAsync("status");
        var wide = await OnTerminalAsync("-o", "wide", "status");

        var eighty = await OnTerminalOfAsync(80, "status");

        Assert.IsTrue(narrow.Split('\n').All(l => l.Length <= 60), "fits 60 columns:\n" + narrow);
        StringAssert.Contains(narrow, "(hidden: LAST SEEN, AGENT; -o wide shows all)");
        StringAssert.Contains(narrow, "  web1 ");
        // Issue 29, item 6: on 80 columns what an operator watches stays (drift and last seen); the agent's version gives way.
        Assert.IsTrue(eighty.Split('\n').All(l => l.Length <= 80), "fits 80 columns:\n" + eighty);
        StringAssert.Contains(eighty, "DRIFT", eighty);
        StringAssert.Contains(eighty, "LAST SEEN", eighty);
        Assert.DoesNotContain("LAST SEEN,", eighty, "last seen is not hidden on 80 columns");
        StringAssert.Matches(eighty, new System.Text.RegularExpressions.Regex(@"web1 .* \d+/\d+/\d+ .* (now|\d+s ago)"), "compact counts and an age:\n" + eighty);
        StringAssert.Matches(wide, new System.Text.RegularExpressions.Regex(@"web1 .* (now|\d+s ago) .*\d"), "-o wide keeps every column, each value whole on its line");
    }
}
