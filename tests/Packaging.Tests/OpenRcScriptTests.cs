using Hawser.TestSupport;

namespace Hawser.Packaging.Tests;

/// <summary>
/// The OpenRC scripts run by Debian's openrc-run and supervise-daemon, in a private mount namespace
/// whose /run, /var/log and /var/lib are fresh tmpfs: the host's own service state is never touched.
/// The script sits in TEMP/init.d, so openrc-run reads its settings from TEMP/conf.d.
/// </summary>
[TestClass]
public sealed class OpenRcScriptTests
{
    private static readonly string Scripts = Path.Combine(RepoPaths.Root, "packaging", "openrc");

    private static Task<ProcessResult> InPrivateMounts(string shell) =>
        ExternalProcess.RunAsync("unshare", ["-m", "sh", "-c",
            "mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/log && mount -t tmpfs tmpfs /var/lib && " +
            "mkdir -p /run/openrc/started /run/openrc/starting /run/openrc/stopping /run/openrc/inactive /run/openrc/wasinactive " +
            "/run/openrc/failed /run/openrc/daemons /run/openrc/options /run/openrc/exclusive /run/openrc/scheduled /run/openrc/tmp && " +
            "touch /run/openrc/softlevel && " + shell], TimeSpan.FromSeconds(60));

    private static string Install(TempDirectory temp, string script, string conf)
    {
        Directory.CreateDirectory(Path.Combine(temp.Path, "init.d"));
        Directory.CreateDirectory(Path.Combine(temp.Path, "conf.d"));
        var path = Path.Combine(temp.Path, "init.d", script);
        File.Copy(Path.Combine(Scripts, script), path);
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("755", 8));
        File.WriteAllText(Path.Combine(temp.Path, "conf.d", script), conf);
        return path;
    }

    [TestMethod]
    [DataRow("hawser-agent", "Hawser agent: keeps this host as its controller declares")]
    [DataRow("hawser-controller", "Hawser controller: desired state, enrollment and the agent streams")]
    public async Task Describe_names_the_service(string script, string description)
    {
        using var temp = new TempDirectory();
        var path = Install(temp, script, string.Empty);

        var result = await InPrivateMounts($"openrc-run {path} describe");

        Assert.AreEqual(0, result.ExitCode, result.Output);
        StringAssert.Contains(result.Output, description);
    }

    [TestMethod]
    public async Task The_agent_script_starts_supervises_reports_and_stops_the_agent_with_its_settings()
    {
        using var temp = new TempDirectory();
        var argv = Path.Combine(temp.Path, "argv");
        var pid = Path.Combine(temp.Path, "pid");
        var stand = Path.Combine(temp.Path, "hawser-agent-stand-in");
        // Stands in for the binary: records how it was started and its pid, then runs until stopped.
        File.WriteAllText(stand, $"#!/bin/sh\necho \"$@\" > {argv}\necho $$ > {pid}\nexec sleep 300\n");
        File.SetUnixFileMode(stand, (UnixFileMode)Convert.ToInt32("755", 8));
        var path = Install(temp, "hawser-agent",
            $"HAWSER_CONTROLLER=https://ctl.example.org:7443\nHAWSER_NODE=web1\nHAWSER_AGENT_ARGS=\"--interval 00:00:30\"\nHAWSER_AGENT_BIN={stand}\n");

        var result = await InPrivateMounts(
            $"openrc-run {path} start && sleep 1 && openrc-run {path} status && " +
            $"(kill -0 $(cat {pid}) && echo RUNNING=yes) && openrc-run {path} stop && sleep 0.5 && (kill -0 $(cat {pid}) 2>/dev/null || echo AFTER=gone)");

        Assert.AreEqual(0, result.ExitCode, result.Output);
        StringAssert.Contains(result.Output, "status: started");
        StringAssert.Contains(result.StandardOutput, "RUNNING=yes");
        StringAssert.Contains(result.StandardOutput, "AFTER=gone", "stop ends the supervised process");
        Assert.AreEqual("run --controller https://ctl.example.org:7443 --node web1 --interval 00:00:30", File.ReadAllText(argv).Trim());
    }

    [TestMethod]
    public async Task The_agent_script_refuses_to_start_without_controller_and_node()
    {
        using var temp = new TempDirectory();
        var path = Install(temp, "hawser-agent", "HAWSER_CONTROLLER=https://ctl.example.org:7443\n");

        var result = await InPrivateMounts($"openrc-run {path} start");

        Assert.AreNotEqual(0, result.ExitCode, result.Output);
        StringAssert.Contains(result.Output, "set HAWSER_CONTROLLER and HAWSER_NODE in /etc/conf.d/hawser-agent");
    }
}
