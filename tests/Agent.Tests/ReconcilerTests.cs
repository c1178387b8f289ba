using Hawser.Agent.HostServices;
using Hawser.Agent.Kinds.Sysctls;
using Hawser.Agent.Reconcile;
using Hawser.Agent.Resources;
using Hawser.Agent.State;
using Hawser.Shared.HostAccess;
using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>The engine's own logic, with scripted resources (fakes are for logic only).</summary>
[TestClass]
public sealed class ReconcilerTests
{
    private sealed class ScriptedResource(string id, string[] dependsOn, Func<int, bool> inSyncAfterApplies, bool fails = false) : IResource
    {
        public int Applies { get; private set; }

        public string Id => id;

        public IReadOnlyList<string> DependsOn => dependsOn;

        public Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken) =>
            fails ? throw new ResourceException($"{id} cannot read the host")
            : Task.FromResult(inSyncAfterApplies(Applies) ? ResourcePlan.Synced() : new ResourcePlan { Changes = [new Change(id, "old", "new")] });

        public Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
        {
            Applies++;
            return Task.CompletedTask;
        }
    }

    private sealed class NoCommands : ICommandRunner
    {
        public Task<CommandResult> RunAsync(IReadOnlyList<string> argv, CancellationToken cancellationToken) =>
            throw new InvalidOperationException($"unexpected command {string.Join(' ', argv)}");
    }

    private static ResourceContext Context(string root, string? procSys = null, ICommandRunner? runner = null)
    {
        runner ??= new NoCommands();
        Directory.CreateDirectory(root);
        var paths = new HostPaths(root, procSys ?? Path.Join(root, "proc-sys"));
        return new ResourceContext(paths, new WritableArea(paths, ["/etc/"]), runner,
            new ServiceManager(runner, "none", new Dictionary<string, ServiceCommands>()), new AgentState(),
            () => throw new InvalidOperationException("no Docker here"));
    }

    [TestMethod]
    public async Task Dependencies_run_first_and_a_failure_skips_only_what_depends_on_it()
    {
        using var root = new TempDirectory();
        var network = new ScriptedResource("docker:network:web", ["docker:daemon"], applies => applies > 0);
        var daemon = new ScriptedResource("docker:daemon", [], _ => false, fails: true);
        var sysctl = new ScriptedResource("sysctl:a.b", [], applies => applies > 0);

        var report = await Reconciler.ConvergeAsync([network, daemon, sysctl], Context(root.Path), dryRun: false, CancellationToken.None);

        CollectionAssert.AreEqual(new[] { "docker:daemon", "docker:network:web", "sysctl:a.b" }, report.Resources.Select(r => r.Id).ToArray());
        Assert.AreEqual(ResourceOutcome.Failed, report.Resources[0].Outcome);
        Assert.AreEqual("docker:daemon cannot read the host", report.Resources[0].Error);
        Assert.AreEqual(ResourceOutcome.Skipped, report.Resources[1].Outcome);
        Assert.AreEqual(0, network.Applies);
        Assert.AreEqual(ResourceOutcome.Changed, report.Resources[2].Outcome);
    }

    [TestMethod]
    public async Task A_resource_still_differing_after_apply_is_a_failure_naming_what_differs()
    {
        using var root = new TempDirectory();
        var stubborn = new ScriptedResource("ufw:forward-policy", [], _ => false);

        var report = await Reconciler.ConvergeAsync([stubborn], Context(root.Path), dryRun: false, CancellationToken.None);

        Assert.AreEqual(ResourceOutcome.Failed, report.Resources[0].Outcome);
        Assert.AreEqual("applied, but the host still differs: ufw:forward-policy is old, wanted new", report.Resources[0].Error);
    }

    [TestMethod]
    public async Task A_dry_run_applies_nothing()
    {
        using var root = new TempDirectory();
        var pending = new ScriptedResource("sysctl:a.b", [], applies => applies > 0);

        var report = await Reconciler.ConvergeAsync([pending], Context(root.Path), dryRun: true, CancellationToken.None);

        Assert.AreEqual(ResourceOutcome.WouldChange, report.Resources[0].Outcome);
        Assert.AreEqual(0, pending.Applies);
        Assert.IsTrue(report.HasPendingChanges);
    }

    private sealed class RecordingRunner(Action<IReadOnlyList<string>> onRun) : ICommandRunner
    {
        public List<string> Runs { get; } = [];

        public Task<CommandResult> RunAsync(IReadOnlyList<string> argv, CancellationToken cancellationToken)
        {
            Runs.Add(string.Join(' ', argv));
            onRun(argv);
            return Task.FromResult(new CommandResult(argv, 0, "", ""));
        }
    }

    [TestMethod]
    public async Task A_missing_congestion_control_module_is_loaded_and_listed_for_boot()
    {
        // tcp_bbr is built into this machine's kernel, so the modprobe path is exercised with a
        // scripted modprobe against a temp /proc/sys.
        using var root = new TempDirectory();
        var procSys = Path.Join(root.Path, "proc-sys");
        var available = Path.Join(procSys, "net", "ipv4", "tcp_available_congestion_control");
        Directory.CreateDirectory(Path.GetDirectoryName(available)!);
        File.WriteAllText(available, "reno cubic\n");
        var runner = new RecordingRunner(argv => File.WriteAllText(available, "reno cubic bbr\n"));
        var modules = new KernelModulesResource("/etc/modules-load.d/hawser.conf", ["bbr"]);

        var report = await Reconciler.ConvergeAsync([modules], Context(Path.Join(root.Path, "root"), procSys, runner), dryRun: false, CancellationToken.None);

        Assert.AreEqual(ResourceOutcome.Changed, report.Resources[0].Outcome, report.Resources[0].Error);
        CollectionAssert.AreEqual(new[] { "modprobe tcp_bbr" }, runner.Runs);
        StringAssert.EndsWith(File.ReadAllText(Path.Join(root.Path, "root", "etc", "modules-load.d", "hawser.conf")), "\ntcp_bbr\n");
    }
}
