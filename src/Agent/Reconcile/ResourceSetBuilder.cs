using Hawser.Agent.Configuration;
using Hawser.Agent.HostServices;
using Hawser.Agent.Resources;
using Hawser.Agent.State;
using Hawser.Shared.HostAccess;
using Hawser.Shared.Spec;

namespace Hawser.Agent.Reconcile;

/// <summary>
/// Turns a node's resolved blocks into resources in dependency order (modules, sysctls, the sysctl
/// file, ufw, NDP, the Docker daemon, its networks, certificates), then adds the undo of everything
/// the state records for blocks that are gone.
/// </summary>
public sealed class ResourceSetBuilder(AgentConfig config, HostPaths paths, AgentState state, string specDirectory)
{
    private readonly WritableArea _area = WritableArea.For(config, paths);

    /// <summary>Builds the list; problems with one block become a resource that fails alone.</summary>
    public IReadOnlyList<IResource> Build(ResourceBlocks blocks)
    {
        var resources = new List<IResource>();
        AddSysctls(blocks, resources);
        if (blocks.Ufw is { } ufw)
        {
            resources.Add(new UfwForwardPolicyResource(ufw.ForwardPolicy));
        }
        if (blocks.NdpProxy is { } ndp)
        {
            string[] needs = [$"sysctl:{ProxyNdpKey(ndp.Interface)}"];
            if (ndp.Mode == "ndppd" && ndp.Rules.Count > 0)
            {
                resources.Add(new NdppdResource(config.NdppdConfig, ndp, needs));
            }
            if (ndp.Addresses.Count > 0)
            {
                var forwarding = blocks.Sysctls?.GetValueOrDefault("net.ipv6.conf.all.forwarding") == "1" ? "all" : ndp.Interface;
                resources.Add(new KernelNdpProxyResource(ndp.Interface, ndp.Addresses, [.. needs, $"sysctl:{ForwardingKey(forwarding)}"]));
            }
        }
        DockerDaemonResource? daemon = null;
        if (blocks.Docker is { } docker)
        {
            if (docker.Daemon is { IsEmpty: false } daemonSpec)
            {
                daemon = new DockerDaemonResource(config.DockerConfig, daemonSpec) { StartTimeout = StartTimeout };
                resources.Add(daemon);
            }
            foreach (var network in docker.Networks)
            {
                resources.Add(new DockerNetworkResource(network, daemon is null ? [] : [DockerDaemonResource.ResourceId]));
            }
        }
        foreach (var certificate in blocks.Certificates ?? [])
        {
            resources.Add(CertificateResource(certificate));
        }
        AddRestores(resources, blocks.Docker?.Daemon);
        return resources;
    }

    private TimeSpan StartTimeout => TimeSpan.FromSeconds(config.DockerStartTimeoutSeconds);

    private static string ProxyNdpKey(string iface) => $"net.ipv6.conf.{iface}.proxy_ndp";

    private static string ForwardingKey(string iface) => $"net.ipv6.conf.{iface}.forwarding";

    private void AddSysctls(ResourceBlocks blocks, List<IResource> resources)
    {
        var wanted = new Dictionary<string, string>(blocks.Sysctls ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        if (blocks.NdpProxy is { } ndp)
        {
            // ndppd and kernel proxy entries both need the kernel to pass solicitations up.
            wanted.TryAdd(ProxyNdpKey(ndp.Interface), "1");
            // The kernel answers for proxy entries only on an interface that forwards.
            if (ndp.Addresses.Count > 0 && wanted.GetValueOrDefault("net.ipv6.conf.all.forwarding") != "1")
            {
                wanted.TryAdd(ForwardingKey(ndp.Interface), "1");
            }
        }
        if (wanted.Count == 0)
        {
            return;
        }
        var (concrete, unmatched) = Expand(wanted);
        var modules = new List<string>();
        if (concrete.TryGetValue("net.ipv4.tcp_congestion_control", out var control) && control is not ("cubic" or "reno"))
        {
            var available = paths.SysctlFile("net.ipv4.tcp_available_congestion_control");
            var loaded = File.Exists(available) && File.ReadAllText(available).Split([' ', '\t', '\n']).Contains(control);
            // Also keep the modules file once written, or undo would delete it when the module is loaded.
            if (!loaded || state.Files.ContainsKey(config.ModulesFile))
            {
                modules.Add(control);
                resources.Add(new KernelModulesResource(config.ModulesFile, modules));
            }
        }
        foreach (var (key, value) in concrete.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            string[] needs = key == "net.ipv4.tcp_congestion_control" && modules.Count > 0 ? [KernelModulesResource.ResourceId] : [];
            resources.Add(new SysctlResource(key, value, needs));
        }
        resources.Add(new SysctlFileResource(config.SysctlFile, concrete,
            [.. unmatched.Select(glob => $"{glob} matches no key here yet; keys for interfaces that appear later are set on the next converge")]));
    }

    /// <summary>Globs (<c>net.ipv6.conf.*.proxy_ndp</c>) become the keys that exist now; a concrete key beats a glob.</summary>
    private (Dictionary<string, string> Keys, List<string> Unmatched) Expand(Dictionary<string, string> wanted)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var unmatched = new List<string>();
        foreach (var (key, value) in wanted.Where(p => p.Key.Contains('*', StringComparison.Ordinal)).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var matches = Glob(key).ToList();
            if (matches.Count == 0)
            {
                unmatched.Add(key);
            }
            foreach (var match in matches)
            {
                result[match] = value;
            }
        }
        foreach (var (key, value) in wanted.Where(p => !p.Key.Contains('*', StringComparison.Ordinal)))
        {
            result[key] = value;
        }
        return (result, unmatched);
    }

    private IEnumerable<string> Glob(string key)
    {
        IEnumerable<string> prefixes = [paths.ProcSys];
        var segments = key.Split('.');
        foreach (var segment in segments)
        {
            prefixes = segment.Contains('*', StringComparison.Ordinal)
                ? prefixes.Where(Directory.Exists).SelectMany(p => Directory.EnumerateFileSystemEntries(p, segment))
                : prefixes.Select(p => Path.Join(p, segment));
        }
        return prefixes.Where(File.Exists)
            .Select(p => Path.GetRelativePath(paths.ProcSys, p).Replace('/', '.'))
            .Order(StringComparer.Ordinal);
    }

    private IResource CertificateResource(CertificateSpec certificate)
    {
        var id = $"certificate:{certificate.Name}";
        var supplied = $"{Fleet.DesiredStateFile.SuppliedCertificates}/{certificate.Name}";
        var source = certificate.Source
            ?? (File.Exists(paths.Map($"{supplied}/fullchain.pem")) ? new CertificateSourceSpec { Cert = $"{supplied}/fullchain.pem", Key = $"{supplied}/privkey.pem" } : null);
        if (source is null)
        {
            return new UnavailableResource(id, $"{Hawser.Shared.Protocol.StateWords.NoCertificateMaterial}: in local mode the spec names it with source: {{cert: FULLCHAIN, key: KEY}}; under the controller, the controller supplies it once it has obtained the certificate");
        }
        try
        {
            var mapped = new CertificateSourceSpec
            {
                // Absolute sources are host paths: normalised and kept beneath --root like targets.
                Cert = source.Cert.StartsWith('/') ? _area.ForRead(source.Cert) : source.Cert,
                Key = source.Key.StartsWith('/') ? _area.ForRead(source.Key) : source.Key,
            };
            return new CertificateFilesResource(certificate, CertificateMaterial.FromFiles(mapped, specDirectory));
        }
        catch (ResourceException ex)
        {
            return new UnavailableResource(id, ex.Message);
        }
    }

    private void AddRestores(List<IResource> resources, DockerDaemonSpec? daemon)
    {
        var ids = resources.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var (path, record) in state.Files.Where(f => !ids.Contains(f.Value.Owner)).OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            resources.Add(new RestoreFileResource(path, record, AfterRestore(path, record)));
        }
        foreach (var (key, record) in state.Sysctls.Where(s => !ids.Contains($"sysctl:{s.Key}")).OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            resources.Add(new RestoreSysctlResource(key, record));
        }
        foreach (var record in state.KernelProxies.Values.Where(r => !ids.Contains(r.Owner)))
        {
            resources.Add(new RemoveKernelProxyResource(record));
        }
        var managed = ManagedDaemonKeys(daemon);
        var orphaned = state.DaemonKeys.Where(k => !managed.Contains(k.Key)).ToDictionary(k => k.Key, k => k.Value, StringComparer.Ordinal);
        if (orphaned.Count > 0)
        {
            resources.Add(new RestoreDaemonKeysResource(config.DockerConfig, orphaned, StartTimeout));
        }
    }

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

    /// <summary>Files whose service must hear that they changed back.</summary>
    private Func<ResourceContext, CancellationToken, Task>? AfterRestore(string path, FileRecord record)
    {
        if (path == config.NdppdConfig)
        {
            return record.Original is null
                ? (context, token) => context.Services.StopAsync(NdppdResource.ServiceName, token)
                : (context, token) => context.Services.RestartAsync(NdppdResource.ServiceName, token);
        }
        if (path == UfwForwardPolicyResource.DefaultsFile)
        {
            return UfwForwardPolicyResource.ReloadIfActiveAsync;
        }
        return null;
    }
}
