using Hawser.Agent.Kinds.Certificates;
using Hawser.Agent.Kinds.Docker;
using Hawser.Agent.Kinds.NdpProxy;
using Hawser.Agent.Kinds.Sysctls;
using Hawser.Agent.Kinds.Ufw;
using Hawser.Agent.Reconcile;

namespace Hawser.Agent.Kinds;

/// <summary>The resource kinds the agent applies, in dependency order (a kind's resources may need an earlier kind's).</summary>
public static class ResourceKinds
{
    /// <summary>Every kind; adding one is one line here (and its folder under Kinds/).</summary>
    public static IReadOnlyList<IResourceKind> All { get; } =
    [
        new SysctlsResourceKind(),
        new UfwResourceKind(),
        new NdpProxyResourceKind(),
        new DockerResourceKind(),
        new CertificatesResourceKind(),
    ];
}
