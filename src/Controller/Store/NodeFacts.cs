namespace Hawser.Controller.Store;

/// <summary>One network interface of a node, as its agent found it.</summary>
/// <param name="Name">The interface's name (eth0).</param>
/// <param name="Addresses">Its addresses in CIDR notation, IPv4 and IPv6.</param>
/// <param name="Up">Whether the link is up.</param>
public sealed record InterfaceFacts(string Name, IReadOnlyList<string> Addresses, bool Up);

/// <summary>What a node's agent said about its host in its last hello (each string bounded on the way in).</summary>
/// <param name="Kernel">The kernel release (uname -r).</param>
/// <param name="Distro">The distribution's PRETTY_NAME.</param>
/// <param name="InitSystem">systemd, openrc or other, as the agent named it.</param>
/// <param name="Interfaces">The host's network interfaces.</param>
/// <param name="DockerVersion">The Docker engine's version; empty when none answered.</param>
/// <param name="Architecture">The CPU architecture.</param>
/// <param name="Hostname">The host's own name.</param>
public sealed record NodeFacts(string Kernel, string Distro, string InitSystem, IReadOnlyList<InterfaceFacts> Interfaces,
    string DockerVersion, string Architecture, string Hostname);
