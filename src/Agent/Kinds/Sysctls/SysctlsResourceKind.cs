using Hawser.Agent.Reconcile;
using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.Sysctls;

namespace Hawser.Agent.Kinds.Sysctls;

/// <summary>
/// Sysctls on this host: the kernel module a congestion control needs, each live key (globs expanded to
/// the keys that exist now), and the boot file that sets them again.
/// </summary>
public sealed class SysctlsResourceKind : IResourceKind
{
    /// <inheritdoc/>
    public ISpecKind Spec => SysctlsKind.Instance;

    /// <inheritdoc/>
    public void AddResources(ResourceBlocks blocks, KindContext context, List<IResource> resources)
    {
        if (context.Sysctls.Count == 0)
        {
            return;
        }
        var (concrete, unmatched) = Expand(context.Sysctls, context.Paths.ProcSys);
        var modules = new List<string>();
        if (concrete.TryGetValue("net.ipv4.tcp_congestion_control", out var control) && control is not ("cubic" or "reno"))
        {
            var available = context.Paths.SysctlFile("net.ipv4.tcp_available_congestion_control");
            var loaded = File.Exists(available) && File.ReadAllText(available).Split([' ', '\t', '\n']).Contains(control);
            // Also keep the modules file once written, or undo would delete it when the module is loaded.
            if (!loaded || context.State.Files.ContainsKey(context.Config.ModulesFile))
            {
                modules.Add(control);
                resources.Add(new KernelModulesResource(context.Config.ModulesFile, modules));
            }
        }
        foreach (var (key, value) in concrete.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            string[] needs = key == "net.ipv4.tcp_congestion_control" && modules.Count > 0 ? [KernelModulesResource.ResourceId] : [];
            resources.Add(new SysctlResource(key, value, needs));
        }
        resources.Add(new SysctlFileResource(context.Config.SysctlFile, concrete,
            [.. unmatched.Select(glob => $"{glob} matches no key here yet; keys for interfaces that appear later are set on the next converge")]));
    }

    /// <inheritdoc/>
    public void AddRestores(ResourceBlocks blocks, KindContext context, IReadOnlySet<string> built, List<IResource> resources)
    {
        foreach (var (key, record) in context.State.Sysctls.Where(s => !built.Contains($"sysctl:{s.Key}")).OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            resources.Add(new RestoreSysctlResource(key, record));
        }
    }

    /// <summary>Globs (<c>net.ipv6.conf.*.proxy_ndp</c>) become the keys that exist now; a concrete key beats a glob.</summary>
    private static (Dictionary<string, string> Keys, List<string> Unmatched) Expand(IReadOnlyDictionary<string, string> wanted, string procSys)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var unmatched = new List<string>();
        foreach (var (key, value) in wanted.Where(p => p.Key.Contains('*', StringComparison.Ordinal)).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var matches = Glob(key, procSys).ToList();
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

    private static IEnumerable<string> Glob(string key, string procSys)
    {
        IEnumerable<string> prefixes = [procSys];
        foreach (var segment in key.Split('.'))
        {
            prefixes = segment.Contains('*', StringComparison.Ordinal)
                ? prefixes.Where(Directory.Exists).SelectMany(p => Directory.EnumerateFileSystemEntries(p, segment))
                : prefixes.Select(p => Path.Join(p, segment));
        }
        return prefixes.Where(File.Exists)
            .Select(p => Path.GetRelativePath(procSys, p).Replace('/', '.'))
            .Order(StringComparer.Ordinal);
    }
}
