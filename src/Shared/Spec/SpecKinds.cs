
namespace Hawser.Shared.Spec;

/// <summary>The resource kinds a spec holds, in the order their blocks are read, reported and written.</summary>
public static class SpecKinds
{
    /// <summary>Every kind; adding one is one line here (and its folder under Spec/Kinds/).</summary>
    public static IReadOnlyList<ISpecKind> All { get; } =
    [
        Kinds.Sysctls.SysctlsKind.Instance,
        Kinds.Ufw.UfwKind.Instance,
        Kinds.NdpProxy.NdpProxyKind.Instance,
        Kinds.Docker.DockerKind.Instance,
        Kinds.Firewall.FirewallKind.Instance,
        Kinds.Certificates.CertificatesKind.Instance,
        Kinds.Agent.AgentKind.Instance,
    ];
}
