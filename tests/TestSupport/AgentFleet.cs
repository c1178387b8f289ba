using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Hawser.TestSupport;

/// <summary>
/// A real controller and one real agent per node, each agent with its own root and its own /proc/sys
/// directory (<c>/proc-sys</c> in the root), all in this network namespace: whole-fleet tests.
/// </summary>
public sealed class AgentFleet : IAsyncDisposable
{
    private readonly List<AgentProcess> _agents = [];

    private AgentFleet(TempDirectory data, string listen, IReadOnlyList<string> nodes, ControllerProcess controller)
    {
        Data = data;
        Listen = listen;
        Nodes = nodes;
        Controller = controller;
    }

    private string[] _controllerExtra = [];

    /// <summary>The controller's data directory, where specs are written too.</summary>
    public TempDirectory Data { get; }

    /// <summary>The controller's fixed address, kept across restarts.</summary>
    public string Listen { get; }

    /// <summary>The node names, in order.</summary>
    public IReadOnlyList<string> Nodes { get; }

    /// <summary>The running controller (replaced by a restart).</summary>
    public ControllerProcess Controller { get; private set; }

    /// <summary>Each node's host, in node order.</summary>
    public List<AgentHost> Hosts { get; } = [];

    /// <summary>Each node's agent, in node order.</summary>
    public IReadOnlyList<AgentProcess> Agents => _agents;

    /// <summary>
    /// Starts the controller (with <paramref name="controllerExtra"/> on its command line) and enrolls one agent per node;
    /// <paramref name="prepare"/> sets up each host's files first.
    /// </summary>
    public static async Task<AgentFleet> StartAsync(IReadOnlyList<string> nodes, Action<string, AgentHost> prepare, params string[] controllerExtra)
    {
        var data = new TempDirectory();
        var listen = $"127.0.0.1:{FreePort()}";
        var fleet = new AgentFleet(data, listen, nodes, await ControllerProcess.StartAsync(data.Path, listen, null, ["--web-break-glass", .. controllerExtra]))
        {
            _controllerExtra = controllerExtra,
        };
        var token = await fleet.CtlAsync("token", "create", "--uses", nodes.Count.ToString(CultureInfo.InvariantCulture), "-o", "json");
        var secret = JsonDocument.Parse(token.StandardOutput).RootElement.GetProperty("token").GetString()!;
        foreach (var node in nodes)
        {
            var host = new AgentHost();
            host.WriteFile("/etc/hawser/agent.yaml", "acmeChallenge: {listen: none}\n");
            prepare(node, host);
            fleet.Hosts.Add(host);
            fleet._agents.Add(AgentProcess.Start(host, node, fleet.Controller.Address, "--join-token", secret, "--ca-hash", fleet.Controller.CaHash,
                "--proc-sys", host.PathOf("/proc-sys")));
        }
        foreach (var agent in fleet._agents)
        {
            await agent.WaitForAsync("connected to");
        }
        return fleet;
    }

    /// <summary>Runs hawserctl against the controller.</summary>
    public Task<ProcessResult> CtlAsync(params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", Controller.CtlConfig, .. arguments]);

    /// <summary>Writes <paramref name="spec"/> into the data directory and applies it.</summary>
    public async Task<ProcessResult> ApplyAsync(string name, string spec, params string[] extra)
    {
        var path = Path.Combine(Data.Path, name);
        File.WriteAllText(path, spec);
        return await CtlAsync(["apply", "-f", path, .. extra]);
    }

    /// <summary>Waits until every node reports <paramref name="revision"/> applied.</summary>
    public async Task WaitAppliedAsync(ulong revision)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var status = await CtlAsync("status", "-o", "json");
            last = status.Output;
            if (status.ExitCode == 0 && JsonDocument.Parse(status.StandardOutput).RootElement.GetProperty("nodes").EnumerateArray()
                .Count(n => n.GetProperty("appliedRevision").GetUInt64() == revision) == Nodes.Count)
            {
                return;
            }
            await Task.Delay(250);
        }
        throw new AssertFailedException($"not every node applied revision {revision}:\n{last}\n{Diagnostics()}");
    }

    /// <summary>Polls <c>hawserctl rollout status ID -o json</c> until <paramref name="done"/> holds; returns that rollout.</summary>
    public async Task<JsonElement> WaitRolloutAsync(ulong id, Func<JsonElement, bool> done, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        JsonElement rollout = default;
        while (DateTime.UtcNow < deadline)
        {
            var result = await CtlAsync("rollout", "status", id.ToString(CultureInfo.InvariantCulture), "-o", "json");
            Assert.AreEqual(0, result.ExitCode, result.Output);
            rollout = JsonDocument.Parse(result.StandardOutput).RootElement.Clone();
            if (done(rollout))
            {
                return rollout;
            }
            await Task.Delay(200);
        }
        throw new AssertFailedException($"rollout {id}: {what} did not happen within {seconds} s; last: {rollout}\n{Diagnostics()}");
    }

    /// <summary>The controller's log and every agent's output, for assertion messages.</summary>
    public string Diagnostics() => "controller:\n" + string.Join("\n", Controller.Log) + "\n" + string.Join("\n", _agents.Select(a => $"{a.Node}:\n{a.Output}"));

    /// <summary>Every file under each host's root except the agent's own state and log, base64 by relative path, in node order.</summary>
    public List<Dictionary<string, string>> Snapshot() => [.. Hosts.Select(host =>
        Directory.EnumerateFiles(host.Root, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/var/lib/hawser", StringComparison.Ordinal) && !f.Contains("/var/log/hawser", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(host.Root, f), f => Convert.ToBase64String(File.ReadAllBytes(f)), StringComparer.Ordinal))];

    /// <summary>Stops the controller (SIGKILL when <paramref name="kill"/>, else SIGTERM) and starts it again on the same address and data.</summary>
    public async Task RestartControllerAsync(bool kill)
    {
        if (kill)
        {
            System.Diagnostics.Process.GetProcessById(Controller.Pid).Kill();
        }
        await Controller.DisposeAsync();
        Controller = await ControllerProcess.StartAsync(Data.Path, Listen, null, ["--web-break-glass", .. _controllerExtra]);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }
        await Controller.DisposeAsync();
        foreach (var host in Hosts)
        {
            host.Dispose();
        }
        Data.Dispose();
    }

    /// <summary>A loopback port free now (bound and released), for a controller that must keep its address across restarts.</summary>
    public static int FreePort() => FreePorts.Tcp();
}
