namespace Hawser.TestSupport;

/// <summary>
/// Hosts on one machine: a hub namespace with a bridge (10.68.0.1/24, fd68:6177::1/64) where the
/// controller listens, and one namespace per node with a veth on that bridge. Addresses come from
/// the test range only and nothing is routed off the machine. Everything is removed on dispose.
/// </summary>
public sealed class FleetNetwork : IDisposable
{
    /// <summary>The controller's address on the bridge.</summary>
    public const string ControllerAddress = "10.68.0.1";

    private readonly List<NetworkNamespace> _hosts = [];

    private FleetNetwork(NetworkNamespace hub) => Hub = hub;

    /// <summary>The namespace holding the bridge (and the controller).</summary>
    public NetworkNamespace Hub { get; }

    /// <summary>Creates the hub and its bridge.</summary>
    public static async Task<FleetNetwork> CreateAsync()
    {
        var hub = await NetworkNamespace.CreateAsync("hub");
        try
        {
            await hub.ExecAsync("ip", "link", "add", "br0", "type", "bridge");
            await hub.ExecAsync("ip", "addr", "add", $"{ControllerAddress}/24", "dev", "br0");
            await hub.ExecAsync("ip", "-6", "addr", "add", "fd68:6177::1/64", "dev", "br0", "nodad");
            await hub.ExecAsync("ip", "link", "set", "br0", "up");
            return new FleetNetwork(hub);
        }
        catch
        {
            hub.Dispose();
            throw;
        }
    }

    /// <summary>A host namespace with eth0 on the bridge at 10.68.0.(10+index) and fd68:6177::(10+index).</summary>
    public async Task<NetworkNamespace> AddHostAsync(string label, int index)
    {
        var host = await NetworkNamespace.CreateAsync(label);
        _hosts.Add(host);
        var port = $"v{index}-{host.Name[^6..]}";
        await ExternalProcess.RunAsync("ip", ["link", "add", "eth0", "netns", host.Name, "type", "veth", "peer", "name", port, "netns", Hub.Name]);
        await Hub.ExecAsync("ip", "link", "set", port, "master", "br0");
        await Hub.ExecAsync("ip", "link", "set", port, "up");
        await host.ExecAsync("ip", "addr", "add", $"10.68.0.{10 + index}/24", "dev", "eth0");
        await host.ExecAsync("ip", "-6", "addr", "add", $"fd68:6177::{10 + index:x}/64", "dev", "eth0", "nodad");
        await host.ExecAsync("ip", "link", "set", "eth0", "up");
        return host;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var host in _hosts)
        {
            host.Dispose();
        }
        Hub.Dispose();
    }
}
