using Hawser.Shared.Spec.Kinds.Certificates;
using Hawser.Shared.Spec.Kinds.Docker;
using Hawser.Shared.Spec.Kinds.NdpProxy;
using Hawser.Shared.Spec.Kinds.Sysctls;
using Hawser.Shared.Spec.Kinds.Ufw;

namespace Hawser.Shared.Spec;

/// <summary>The resource kinds a spec holds, in the order their blocks are read, reported and written.</summary>
public static class SpecKinds
{
    /// <summary>Every kind; adding one is one line here (and its folder under Spec/Kinds/).</summary>
    public static IReadOnlyList<ISpecKind> All { get; } =
    [
        SysctlsKind.Instance,
        UfwKind.Instance,
        NdpProxyKind.Instance,
        DockerKind.Instance,
        CertificatesKind.Instance,
    ];
}
