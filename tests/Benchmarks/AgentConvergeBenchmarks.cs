using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Hawser.Agent.Configuration;
using Hawser.Agent.Docker;
using Hawser.Agent.HostServices;
using Hawser.Agent.Reconcile;
using Hawser.Agent.State;
using Hawser.Shared.HostAccess;
using Hawser.Shared.Spec;
using Hawser.TestSupport;

namespace Hawser.Benchmarks;

/// <summary>
/// A no-op converge of the seeds' resource set (BBR sysctls, ufw, ndppd, daemon.json against a real
/// dockerd, one certificate pair for nginx) on a temp root that is already in sync: every resource
/// reads the host and finds nothing to do. Needs root (a network namespace for dockerd).
/// </summary>
[Config(typeof(Config))]
public class AgentConvergeBenchmarks : IDisposable
{
    private NetworkNamespace _ns = null!;
    private AgentHost _host = null!;
    private DockerDaemon _docker = null!;
    private TestCertificates _ca = null!;
    private AgentConfig _config = null!;
    private HostPaths _paths = null!;
    private ResourceBlocks _blocks = null!;
    private string _specDirectory = null!;
    private ProcessCommandRunner _runner = null!;
    private DockerEngineClient _engine = null!;

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance));
            AddColumn(StatisticColumn.P50, StatisticColumn.P95);
            AddDiagnoser(MemoryDiagnoser.Default);
        }
    }

    /// <summary>Builds the host, converges it once for real, and checks it is in sync.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _ns = NetworkNamespace.CreateAsync("bench").GetAwaiter().GetResult();
        _ns.ExecAsync("ip", "link", "add", "ens3", "type", "veth", "peer", "name", "ens3p").GetAwaiter().GetResult();
        _host = new AgentHost(_ns);
        _host.WriteFile("/etc/docker/daemon.json", "{\"ipv6\": true, \"fixed-cidr-v6\": \"fd68:6177:0:0:1::/80\", \"bip\": \"10.68.0.1/26\"}\n");
        _docker = DockerDaemon.StartAsync(_ns, _host.PathOf("/etc/docker/daemon.json")).GetAwaiter().GetResult();
        _host.WriteFile("/etc/default/ufw", "IPV6=yes\nDEFAULT_FORWARD_POLICY=\"ACCEPT\"\n");
        _host.WriteFile("/etc/ufw/ufw.conf", "ENABLED=no\n");
        _host.WriteFile("/run/ndppd.pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // The live kernel values come from a temp /proc/sys (the benchmark runs in the host's namespace).
        foreach (var (key, value) in new[] { ("net/core/default_qdisc", "fq"), ("net/ipv4/tcp_congestion_control", "bbr"),
            ("net/ipv4/tcp_keepalive_time", "600"), ("net/ipv4/tcp_available_congestion_control", "reno cubic bbr"), ("net/ipv6/conf/ens3/proxy_ndp", "1") })
        {
            _host.WriteFile($"/proc-sys/{key}", value + "\n");
        }
        _ca = new TestCertificates();
        var (chain, key2) = _ca.IssuePem("opam.example.org", "www.opam.example.org");
        _host.WriteFile("/etc/letsencrypt/live/opam.example.org/fullchain.pem", chain);
        _host.WriteFile("/etc/letsencrypt/live/opam.example.org/privkey.pem", key2);
        var spec = _host.WriteSpec("""
            apiVersion: hawser/v1
            nodes:
              web1:
                labels: {role: web}
                ndpProxy: {interface: ens3, rules: [{prefix: "fd68:6177:0:0:1::/80"}]}
                docker:
                  daemon: {ipv6: true, fixedCidrV6: "fd68:6177:0:0:1::/80"}
            profiles:
              web:
                selector: {role: web}
                sysctls:
                  net.core.default_qdisc: fq
                  net.ipv4.tcp_congestion_control: bbr
                  net.ipv4.tcp_keepalive_time: "600"
                ufw: {forwardPolicy: ACCEPT}
                certificates:
                  - name: www
                    domains: [opam.example.org, www.opam.example.org]
                    source: {cert: /etc/letsencrypt/live/opam.example.org/fullchain.pem, key: /etc/letsencrypt/live/opam.example.org/privkey.pem}
                    install:
                      - {format: pem-pair, cert: /etc/nginx/certs/www.crt, key: /etc/nginx/certs/www.key}
            """);
        _specDirectory = Path.GetDirectoryName(spec)!;
        _config = new AgentConfig
        {
            DockerSocket = _docker.Socket,
            InitSystem = "none",
            Services = new Dictionary<string, ServiceCommands>
            {
                // The agent's cheapest honest check: one tiny process, as systemctl is-active would be.
                ["ndppd"] = new() { Restart = ["true"], Stop = ["true"], IsActive = ["kill", "-0", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)] },
            },
        };
        _paths = new HostPaths(_host.Root, _host.PathOf("/proc-sys"));
        var parsed = SpecParser.Parse(File.ReadAllText(spec), spec, _config.SpecRules);
        _blocks = SpecResolver.Resolve(parsed.Spec ?? throw new InvalidOperationException(string.Join("\n", parsed.Errors)), "web1").Blocks;
        _runner = new ProcessCommandRunner();
        _engine = new DockerEngineClient(_docker.Socket);
        var first = Converge().GetAwaiter().GetResult();
        if (first.Failed)
        {
            throw new InvalidOperationException("setup converge failed: " + string.Join("; ", first.Resources.Where(r => r.Error is not null).Select(r => $"{r.Id}: {r.Error}")));
        }
        var second = Converge().GetAwaiter().GetResult();
        if (second.Resources.Any(r => r.Outcome != ResourceOutcome.InSync))
        {
            throw new InvalidOperationException("the host is not in sync after setup: " + string.Join(", ", second.Resources.Where(r => r.Outcome != ResourceOutcome.InSync).Select(r => r.Id)));
        }
        Console.WriteLine($"// no-op converge of {second.Resources.Count} resources: {string.Join(", ", second.Resources.Select(r => r.Id))}");
    }

    /// <summary>Builds the resources from the resolved node and converges; everything is in sync.</summary>
    [Benchmark]
    public Task<ConvergeReport> NoOpConverge() => Converge();

    private Task<ConvergeReport> Converge() =>
        new NodeConverger(_config, _paths, _runner, () => _engine).ConvergeAsync(_blocks, _specDirectory, dryRun: false, CancellationToken.None);

    /// <summary>Median time of each resource's plan over <paramref name="rounds"/> rounds, to see where a converge goes.</summary>
    public static async Task<int> BreakdownAsync(int rounds)
    {
        using var bench = new AgentConvergeBenchmarks();
        bench.Setup();
        var state = AgentState.Load(bench._paths);
        var resources = new ResourceSetBuilder(bench._config, bench._paths, state, bench._specDirectory).Build(bench._blocks);
        var context = new ResourceContext(bench._paths, WritableArea.For(bench._config, bench._paths), bench._runner, AgentConfigLoader.CreateServiceManager(bench._config, bench._runner), state, () => bench._engine);
        var build = new List<double>();
        for (var i = 0; i < rounds; i++)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            _ = new ResourceSetBuilder(bench._config, bench._paths, AgentState.Load(bench._paths), bench._specDirectory).Build(bench._blocks);
            build.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
        Console.WriteLine($"build (state load + resources) p50_us={Median(build):0}");
        foreach (var resource in resources)
        {
            var times = new List<double>();
            for (var i = 0; i < rounds; i++)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await resource.PlanAsync(context, CancellationToken.None);
                times.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
            Console.WriteLine($"{resource.Id} plan p50_us={Median(times):0}");
        }
        return 0;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>Stops dockerd and removes the namespace and files.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _engine?.Dispose();
        _docker?.Dispose();
        _host?.Dispose();
        _ns?.Dispose();
        _ca?.Dispose();
        GC.SuppressFinalize(this);
    }
}
