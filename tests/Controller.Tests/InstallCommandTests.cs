using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary><c>hawser-controller install --root</c>: initialized data, the unit or script and its settings; uninstall takes them away again.</summary>
[TestClass]
public sealed class InstallCommandTests
{
    [TestMethod]
    [DataRow("systemd", "/etc/systemd/system/hawser-controller.service", "packaging/systemd/hawser-controller.service", "/etc/default/hawser-controller",
        "would run: systemctl daemon-reload|would run: systemctl enable --now hawser-controller", "would run: systemctl disable --now hawser-controller")]
    [DataRow("openrc", "/etc/init.d/hawser-controller", "packaging/openrc/hawser-controller", "/etc/conf.d/hawser-controller",
        "would run: useradd --system --user-group --home-dir /var/lib/hawser-controller --shell /usr/sbin/nologin hawser|" +
        "would run: chown -R hawser:hawser /var/lib/hawser-controller|would run: rc-update add hawser-controller default|would run: rc-service hawser-controller start",
        "would run: rc-service hawser-controller stop")]
    public async Task Install_initializes_lays_down_the_service_and_uninstall_purge_leaves_the_root_as_it_was(
        string init, string serviceFile, string packaged, string settingsFile, string installCalls, string uninstallCall)
    {
        using var root = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(root.Path, "usr", "sbin"));
        File.WriteAllText(Path.Combine(root.Path, "usr", "sbin", "useradd"), string.Empty);
        var binary = Path.Combine(root.Path, "usr", "sbin", "stand-in");
        File.WriteAllText(binary, "#!/bin/sh\necho a stand-in controller binary\n");
        var before = Snapshot(root.Path);

        var install = await HawserProcesses.RunAsync("hawser-controller", ["install", "--root", root.Path, "--init", init, "--name", "ctl.example.org",
            "--address", "192.0.2.10", "--listen", "192.0.2.10:7443", "--ctl-config", "/root/hawserctl.yaml", "--binary", binary]);

        Assert.AreEqual(0, install.ExitCode, install.Output);
        foreach (var call in installCalls.Split('|'))
        {
            StringAssert.Contains(install.StandardOutput, call);
        }
        StringAssert.Contains(install.StandardOutput, "(--root: nothing was started)");
        Assert.IsTrue(File.Exists(Path.Combine(root.Path, "var/lib/hawser-controller/pki/ca.key")), "install initialized the data directory");
        Assert.IsTrue(File.Exists(Path.Combine(root.Path, "var/lib/hawser-controller/controller.db")));
        StringAssert.Contains(File.ReadAllText(Path.Combine(root.Path, "root/hawserctl.yaml")), "controller: https://192.0.2.10:7443");
        Assert.AreEqual(File.ReadAllText(binary), File.ReadAllText(Path.Combine(root.Path, "usr/local/bin/hawser-controller")));
        Assert.AreEqual(File.ReadAllText(Path.Combine(RepoPaths.Root, packaged)), File.ReadAllText(Path.Combine(root.Path, serviceFile.TrimStart('/'))));
        Assert.AreEqual("HAWSER_LISTEN=\"192.0.2.10:7443\"\n", File.ReadAllText(Path.Combine(root.Path, settingsFile.TrimStart('/'))));

        var again = await HawserProcesses.RunAsync("hawser-controller", ["install", "--root", root.Path, "--init", init, "--binary", binary]);
        var uninstall = await HawserProcesses.RunAsync("hawser-controller", ["uninstall", "--root", root.Path, "--purge"]);

        Assert.AreEqual(0, again.ExitCode, again.Output);
        StringAssert.Contains(again.StandardOutput, "/var/lib/hawser-controller is already initialized; keeping it");
        Assert.AreEqual(0, uninstall.ExitCode, uninstall.Output);
        StringAssert.Contains(uninstall.StandardOutput, uninstallCall);
        File.Delete(Path.Combine(root.Path, "root/hawserctl.yaml"));
        Directory.Delete(Path.Combine(root.Path, "root"));
        CollectionAssert.AreEquivalent(before, Snapshot(root.Path), "uninstall --purge removes all that install made (hawserctl's config is the operator's)");
    }

    [TestMethod]
    public async Task A_bad_listen_address_is_refused_and_nothing_is_written()
    {
        using var root = new TempDirectory();

        var result = await HawserProcesses.RunAsync("hawser-controller", ["install", "--root", root.Path, "--init", "systemd", "--listen", "7443", "--binary", "/bin/true"]);

        Assert.AreEqual(64, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, "--listen '7443' must be IP:PORT, e.g. 0.0.0.0:7443");
        Assert.IsEmpty(Snapshot(root.Path));
    }

    private static List<string> Snapshot(string root) =>
        [.. Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(root, p))];
}
