using Hawser.Agent.Reconcile;

namespace Hawser.Agent.Kinds;

/// <summary>The resource kinds the agent applies, in dependency order (a kind's resources may need an earlier kind's).</summary>
public static class ResourceKinds
{
    /// <summary>Every kind; adding one is one line here (and its folder under Kinds/).</summary>
    public static IReadOnlyList<IResourceKind> All { get; } =
    [
        new Sysctls.SysctlsResourceKind(),
        new Ufw.UfwResourceKind(),
        new NdpProxy.NdpProxyResourceKind(),
        new Docker.DockerResourceKind(),
        new Firewall.FirewallResourceKind(),
        new Certificates.CertificatesResourceKind(),
        new Agent.AgentResourceKind(),
    ];
}
