using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>One node of a <see cref="ServedFleet"/>: its name, its server, where its namespace meets the runner, and its HTTP-01 address.</summary>
/// <param name="Name">The node's name.</param>
/// <param name="Kind">Its TLS server.</param>
/// <param name="Runner">The runner's end of the link (a CIDR).</param>
/// <param name="Server">The server's address (port 443).</param>
/// <param name="Challenge">Where its agent answers HTTP-01 (on the runner's loopback).</param>
internal sealed record ServedNode(string Name, TlsServerKind Kind, string Runner, string Server, string Challenge);

/// <summary>
/// Agents whose hosts each run one of Debian's TLS servers in a network namespace of its own, serving a certificate from
/// elsewhere until Hawser installs one: the setup the served-certificate tests share. The agents run in the runner's
/// namespace (HTTP-01 on loopback, where Pebble validates); each spec names its node's server with <c>verify:</c>.
/// </summary>
internal sealed class ServedFleet : IAsyncDisposable
{
    private readonly List<NetworkNamespace> _namespaces = [];
    private readonly List<AgentProcess> _agents = [];

    private ServedFleet(IReadOnlyList<ServedNode> nodes, ControllerProcess controller)
    {
        Nodes = nodes;
        Controller = controller;
        Hosts = [.. nodes.Select(_ => new AgentHost())];
    }

    /// <summary>The nodes.</summary>
    public IReadOnlyList<ServedNode> Nodes { get; }

    /// <summary>The controller they enrolled with.</summary>
    public ControllerProcess Controller { get; }

    /// <summary>Each node's host, in node order.</summary>
    public IReadOnlyList<AgentHost> Hosts { get; }

    /// <summary>Each node's server, in node order.</summary>
    public List<TlsServer> Servers { get; } = [];

    /// <summary>Starts every node's server on a certificate for <paramref name="domain"/> from a CA of the test's, then every agent.</summary>
    public static async Task<ServedFleet> StartAsync(ControllerProcess controller, string domain, string directory, params ServedNode[] nodes)
    {
        var fleet = new ServedFleet(nodes, controller);
        try
        {
            using var ca = new TestCertificates("Before Hawser");
            var (chain, key) = ca.IssuePem(domain);
            for (var i = 0; i < nodes.Length; i++)
            {
                var ns = await NetworkNamespace.CreateAsync($"tls{i + 1}");
                fleet._namespaces.Add(ns);
                fleet.Servers.Add(await TlsServer.StartOnHostAsync(nodes[i].Kind, fleet.Hosts[i], ns, nodes[i].Runner, nodes[i].Server,
                    Path.Join(directory, nodes[i].Name + "-" + nodes[i].Kind), chain, key));
            }
            var token = JsonDocument.Parse((await CtlAsync(controller, "token", "create", "--uses", nodes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "json"))
                .StandardOutput).RootElement.GetProperty("token").GetString()!;
            for (var i = 0; i < nodes.Length; i++)
            {
                fleet.Hosts[i].WriteFile("/etc/hawser/agent.yaml", $"allowedCommands: [/bin/sh]\nacmeChallenge: {{listen: \"{nodes[i].Challenge}:{PebbleServer.HttpChallengePort}\"}}\n");
                fleet._agents.Add(AgentProcess.Start(fleet.Hosts[i], nodes[i].Name, controller.Address, "--join-token", token, "--ca-hash", controller.CaHash));
            }
            foreach (var agent in fleet._agents)
            {
                await agent.WaitForAsync("connected to");
            }
            return fleet;
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }
    }

    /// <summary>hawserctl against the controller.</summary>
    public static Task<ProcessResult> CtlAsync(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    /// <summary>A spec ordering from <paramref name="directory"/>, with <see cref="NodesYaml"/>.</summary>
    public string Spec(Uri directory, string domain) =>
        $"apiVersion: hawser/v1\nacme: {{directory: \"{directory}\", validationPort: {PebbleServer.HttpChallengePort}}}\nnodes:\n{NodesYaml(domain)}";

    /// <summary>The spec's nodes: each with certificate 'www' for <paramref name="domain"/>, installed where its server reads it, checked at its server, reloaded by its script.</summary>
    public string NodesYaml(string domain) => string.Concat(Nodes.Select((node, i) =>
        $"  {node.Name}:\n"
        + "    certificates:\n"
        + "      - name: www\n"
        + $"        domains: [{domain}]\n"
        + $"        install: [{TlsServer.InstallOf(node.Kind)}, verify: {{connect: \"{node.Server}:443\", sni: {domain}}}}}]\n"
        + $"        reload: {{command: [{string.Join(", ", Servers[i].ReloadCommand)}]}}\n"));

    /// <summary>The certificate hawserctl lists first, as JSON.</summary>
    public async Task<JsonElement> CertificateAsync() =>
        JsonDocument.Parse((await CtlAsync(Controller, "certs", "-o", "json")).StandardOutput).RootElement.GetProperty("certificates")[0];

    /// <summary>The serial each node's server was last seen serving, by hawserctl (null when it read none).</summary>
    public static Dictionary<string, string?> Served(JsonElement certificate) =>
        certificate.GetProperty("served").EnumerateArray().ToDictionary(s => s.GetProperty("node").GetString()!,
            s => s.GetProperty("serial").ValueKind == JsonValueKind.String ? s.GetProperty("serial").GetString() : null);

    /// <summary>The controller's log and every agent's output, for a failure message.</summary>
    public string Diagnostics() => string.Join("\n", Controller.Log) + "\n" + string.Join("\n", _agents.Select(a => $"{a.Node}:\n{a.Output}"));

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }
        foreach (var ns in _namespaces)
        {
            ns.Dispose();
        }
        foreach (var host in Hosts)
        {
            host.Dispose();
        }
    }
}
