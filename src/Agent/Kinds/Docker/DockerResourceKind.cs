using Hawser.Agent.Reconcile;
using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.Docker;

namespace Hawser.Agent.Kinds.Docker;

/// <summary>Docker on this host: daemon.json's managed keys (restart with rollback) and IPv6 user networks.</summary>
public sealed class DockerResourceKind : IResourceKind
{
    /// <inheritdoc/>
    public ISpecKind Spec => DockerKind.Instance;

    /// <inheritdoc/>
    public void AddResources(ResourceBlocks blocks, KindContext context, List<IResource> resources)
    {
        if (blocks.Docker is not { } docker)
        {
            return;
        }
        DockerDaemonResource? daemon = null;
        if (docker.Daemon is { IsEmpty: false } daemonSpec)
        {
            daemon = new DockerDaemonResource(context.Config.DockerConfig, daemonSpec) { StartTimeout = StartTimeout(context) };
            resources.Add(daemon);
        }
        foreach (var network in docker.Networks)
        {
            resources.Add(new DockerNetworkResource(network, daemon is null ? [] : [DockerDaemonResource.ResourceId]));
        }
    }

    /// <inheritdoc/>
    public void AddRestores(ResourceBlocks blocks, KindContext context, IReadOnlySet<string> built, List<IResource> resources)
    {
        var managed = ManagedDaemonKeys(blocks.Docker?.Daemon);
        var orphaned = context.State.DaemonKeys.Where(k => !managed.Contains(k.Key)).ToDictionary(k => k.Key, k => k.Value, StringComparer.Ordinal);
        if (orphaned.Count > 0)
        {
            resources.Add(new RestoreDaemonKeysResource(context.Config.DockerConfig, orphaned, StartTimeout(context)));
        }
    }

    /// <summary>How long a restarted daemon may take before daemon.json is rolled back.</summary>
    private static TimeSpan StartTimeout(KindContext context) => TimeSpan.FromSeconds(context.Config.DockerStartTimeoutSeconds);

    private static HashSet<string> ManagedDaemonKeys(DockerDaemonSpec? daemon)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        if (daemon is null)
        {
            return keys;
        }
        if (daemon.Ipv6 is not null) { keys.Add("ipv6"); }
        if (daemon.FixedCidrV6 is not null) { keys.Add("fixed-cidr-v6"); }
        if (daemon.Ip6tables is not null) { keys.Add("ip6tables"); }
        if (daemon.Experimental is not null || daemon.Ip6tables == true) { keys.Add("experimental"); }
        if (daemon.DefaultAddressPools is not null) { keys.Add("default-address-pools"); }
        return keys;
    }
}
