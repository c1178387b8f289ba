using Google.Protobuf.WellKnownTypes;
using Hawser.Agent.Configuration;
using Hawser.Agent.Fleet;
using Hawser.Agent.HostServices;
using Hawser.Agent.Kinds.Certificates;
using Hawser.Shared.HostAccess;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>The agent's node_exporter textfile: what Debian's promtool accepts, written only where agent.yaml says, never through a link.</summary>
[TestClass]
public sealed class NodeExporterTextfileTests
{
    private const string Directory = "/var/lib/prometheus/node-exporter";

    private static NodeExporterTextfile Textfile(AgentHost host, ListLogger log)
    {
        var config = new AgentConfig { TextfileCollector = Directory };
        return new NodeExporterTextfile(Directory, WritableArea.For(config, new HostPaths(host.Root, host.PathOf("/proc-sys"))), log);
    }

    private static StatusReport Report()
    {
        var report = new StatusReport { Revision = 7, FinishedAt = Timestamp.FromDateTime(DateTime.UtcNow) };
        report.Resources.Add(new ResourceStatus { Kind = "sysctl", Name = "net.core.somaxconn", State = ResourceState.InSync });
        report.Resources.Add(new ResourceStatus { Kind = "sysctl", Name = "net.ipv4.tcp_fin_timeout", State = ResourceState.Failed, Error = "no such key" });
        // A target with characters the text format escapes in a label value.
        report.ServedCertificates.Add(new Shared.Protocol.V1.ServedCertificate { Certificate = "www", Target = "[::1]:443\"\\", Serial = "01", NotAfter = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(30)) });
        return report;
    }

    [TestMethod]
    public async Task The_file_passes_promtools_lint_and_says_the_last_converge_failed()
    {
        using var host = new AgentHost();
        var log = new ListLogger();
        var textfile = Textfile(host, log);

        textfile.Connected(true);
        textfile.Converged(Report(), [new InstalledLeaf("www", "01", DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddDays(30))]);

        var written = File.ReadAllText(host.PathOf(Directory + "/hawser.prom"));
        var lint = await ExternalProcess.RunAsync("sh", ["-c", $"promtool check metrics < '{host.PathOf(Directory + "/hawser.prom")}'"], TimeSpan.FromSeconds(60));
        Assert.AreEqual(0, lint.ExitCode, lint.Output + "\n" + written);
        StringAssert.Contains(written, "hawser_agent_last_converge_success 0\n");
        StringAssert.Contains(written, "hawser_agent_resources{state=\"failed\"} 1\n");
        StringAssert.Contains(written, "hawser_agent_revision 7\n");
        StringAssert.Contains(written, "hawser_agent_certificate_served_not_after_seconds{certificate=\"www\",target=\"[::1]:443\\\"\\\\\"}");
        StringAssert.Contains(written, "hawser_agent_certificate_not_after_seconds{certificate=\"www\"}");
        Assert.IsEmpty(log.Lines);
    }

    [TestMethod]
    public void A_collector_directory_that_is_a_link_out_of_the_root_gets_nothing_and_the_converge_goes_on()
    {
        using var host = new AgentHost();
        using var outside = new TempDirectory("hawser-outside-");
        System.IO.Directory.CreateDirectory(host.PathOf("/var/lib/prometheus"));
        File.CreateSymbolicLink(host.PathOf(Directory), outside.Path);
        var log = new ListLogger();
        var textfile = Textfile(host, log);

        textfile.Converged(Report(), []);
        textfile.Converged(Report(), []);

        Assert.IsEmpty(System.IO.Directory.GetFileSystemEntries(outside.Path), "nothing may be written through the link");
        Assert.HasCount(1, log.Lines, "said once: " + string.Join("\n", log.Lines));
        StringAssert.Contains(log.Lines[0], $"cannot write node_exporter's textfile {Directory}/hawser.prom");
        StringAssert.Contains(log.Lines[0], "outside --root");
    }

    [TestMethod]
    public void A_relative_collector_directory_is_refused_naming_the_setting()
    {
        using var host = new AgentHost();
        var path = host.PathOf("/etc/hawser/agent.yaml");
        host.WriteFile("/etc/hawser/agent.yaml", "textfileCollector: var/lib/node-exporter\n");

        var error = Assert.ThrowsExactly<InvalidDataException>(() => AgentConfigLoader.Load(path));

        StringAssert.Contains(error.Message, $"{path}: textfileCollector 'var/lib/node-exporter' must be an absolute path");
    }
}
