using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Api;

/// <summary>Host facts across the API edge: the wire's <c>hawser.v1.HostFacts</c> into the domain's <see cref="NodeFacts"/> and back.</summary>
public static class FactsWire
{
    /// <summary>The facts a hello carried (bounded by the caller first), as the controller keeps them.</summary>
    public static NodeFacts Facts(HostFacts facts) => new(
        facts.Kernel, facts.Distro, facts.InitSystem, [.. facts.Interfaces.Select(i => new InterfaceFacts(i.Name, [.. i.Addresses], i.Up))],
        facts.DockerVersion, facts.Architecture, facts.Hostname);

    /// <summary>Kept facts as the wire describes them.</summary>
    public static HostFacts Message(NodeFacts facts)
    {
        var message = new HostFacts
        {
            Kernel = facts.Kernel, Distro = facts.Distro, InitSystem = facts.InitSystem,
            DockerVersion = facts.DockerVersion, Architecture = facts.Architecture, Hostname = facts.Hostname,
        };
        foreach (var nic in facts.Interfaces)
        {
            var wire = new NetworkInterface { Name = nic.Name, Up = nic.Up };
            wire.Addresses.Add(nic.Addresses);
            message.Interfaces.Add(wire);
        }
        return message;
    }
}
