using System.Text.Json;
using Hawser.Agent.Reconcile;
using Hawser.Agent.State;
using Hawser.Shared.HostAccess;
using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>A host without a controller keeps its history: each local apply is a line of the journal, and `history` prints it.</summary>
[TestClass]
public sealed class JournalTests
{
    private const string Forward = """
        apiVersion: hawser/v1
        nodes:
          web1:
            ufw: {forwardPolicy: ACCEPT}
        """;

    [TestMethod]
    public async Task Each_apply_is_recorded_with_what_changed_or_failed_and_history_prints_it_oldest_first()
    {
        using var host = new AgentHost();
        host.WriteFile("/etc/default/ufw", "IPV6=yes\nDEFAULT_FORWARD_POLICY=\"DROP\"\n");
        host.WriteFile("/proc-sys/net/ipv4/tcp_keepalive_time", "7200\n");
        var procSys = new[] { "--proc-sys", host.PathOf("/proc-sys") };
        var forward = host.WriteSpec(Forward, "forward.yaml");
        var missing = host.WriteSpec(Forward + "\n    sysctls: {net.ipv4.tcp_does_not_exist: \"1\"}\n", "missing.yaml");

        Assert.AreEqual(0, (await host.ApplyAsync(forward, "web1", procSys)).ExitCode);
        Assert.AreEqual(0, (await host.ApplyAsync(forward, "web1", procSys)).ExitCode);
        Assert.AreEqual(0, (await host.ApplyAsync(forward, "web1", [.. procSys, "--dry-run"])).ExitCode, "a dry run, in sync: not recorded");
        Assert.AreEqual(1, (await host.ApplyAsync(missing, "web1", procSys)).ExitCode);

        var json = await host.RunAgentAsync(["history", "--root", host.Root, "-o", "json"]);
        var text = await host.RunAgentAsync(["history", "--root", host.Root]);

        Assert.AreEqual(0, json.ExitCode, json.Output);
        var runs = json.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.HasCount(3, runs, "three applies, the dry run not among them\n" + json.StandardOutput);
        Assert.AreEqual("in-sync", runs[0].GetProperty("result").GetString());
        Assert.AreEqual(1, runs[0].GetProperty("changed").GetInt32());
        StringAssert.Contains(runs[0].GetProperty("resources")[0].GetProperty("changes")[0].GetString(), "DEFAULT_FORWARD_POLICY: DROP -> ACCEPT");
        Assert.AreEqual(0, runs[1].GetProperty("changed").GetInt32());
        Assert.AreEqual(0, runs[1].GetProperty("resources").GetArrayLength(), "a run in sync is counted, not listed");
        Assert.AreEqual("failed", runs[2].GetProperty("result").GetString());
        Assert.AreEqual(1, runs[2].GetProperty("exitCode").GetInt32());
        StringAssert.Contains(runs[2].GetProperty("resources").EnumerateArray().Single(r => r.GetProperty("outcome").GetString() == "failed").GetProperty("id").GetString(),
            "net.ipv4.tcp_does_not_exist");
        Assert.AreEqual(0, text.ExitCode, text.Output);
        var lines = text.StandardOutput.Split('\n');
        StringAssert.Matches(lines[0], new System.Text.RegularExpressions.Regex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z  web1  .*forward\.yaml: in-sync, 1 changed, 0 failed"));
        StringAssert.Contains(text.StandardOutput, "DEFAULT_FORWARD_POLICY: DROP -> ACCEPT");
        StringAssert.Contains(lines.Last(l => l.Length > 0 && !l.StartsWith(' ')), "missing.yaml: failed");
    }

    [TestMethod]
    public void A_full_journal_rotates_and_history_reads_across_both_files_in_order()
    {
        using var root = new TempDirectory();
        var paths = new HostPaths(root.Path, "/proc/sys");
        var detail = new string('x', 4000);
        for (var i = 0; i < 400; i++)
        {
            ApplyJournal.Append(paths, new JournalEntry(DateTimeOffset.UtcNow, $"n{i}", "spec.yaml", "in-sync", 0, 1, 1, 0,
                [new JournalResource("file:/etc/x", "changed", [detail], null)]));
        }

        var journal = paths.Map(ApplyJournal.HostPath);
        Assert.IsTrue(File.Exists(journal + ".1"), "rotated once full");
        Assert.IsLessThanOrEqualTo(ApplyJournal.MaxBytes, new FileInfo(journal).Length);
        Assert.IsLessThanOrEqualTo(ApplyJournal.MaxBytes, new FileInfo(journal + ".1").Length);
        var kept = ApplyJournal.Read(paths, int.MaxValue);
        Assert.IsGreaterThan(ApplyJournal.MaxBytes / 4100, kept.Count, "more than one file's worth is kept");
        Assert.AreEqual("n399", kept[^1].Node);
        CollectionAssert.AreEqual(kept.Select(e => e.Node).ToList(), kept.OrderBy(e => int.Parse(e.Node[1..], System.Globalization.CultureInfo.InvariantCulture)).Select(e => e.Node).ToList(), "oldest first");
        Assert.HasCount(5, ApplyJournal.Read(paths, 5));
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(journal));
    }
}
