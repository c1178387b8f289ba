using System.Text;
using Hawser.Agent.Reconcile;
using Hawser.Shared.HostAccess;

namespace Hawser.Agent.Kinds.Sysctls;

/// <summary>
/// Kernel modules a setting needs (tcp_bbr for <c>tcp_congestion_control=bbr</c>): loaded now with
/// modprobe, and listed in a modules-load.d file so they load at boot.
/// </summary>
public sealed class KernelModulesResource(string hostPath, IReadOnlyList<string> congestionControls) : IResource
{
    private static readonly string[] ModuleLists = ["modules.dep", "modules.builtin"];

    /// <summary>The resource id sysctls depend on.</summary>
    public const string ResourceId = "kernel-modules";

    /// <inheritdoc/>
    public string Id => ResourceId;

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    private IEnumerable<string> Modules => congestionControls.Select(c => $"tcp_{c}");

    private byte[] Content() => Encoding.UTF8.GetBytes(
        "# Managed by hawser-agent: modules its kernel settings need.\n" + string.Concat(Modules.Order(StringComparer.Ordinal).Select(m => m + "\n")));

    /// <inheritdoc/>
    public Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var changes = new List<Change>();
        var current = context.ReadFile(hostPath);
        if (current is null || !current.AsSpan().SequenceEqual(Content()))
        {
            changes.Add(new Change(hostPath, current is null ? null : $"{current.Length} bytes", string.Join(", ", Modules)));
        }
        var available = Available(context);
        foreach (var control in congestionControls.Where(c => !available.Contains(c)))
        {
            if (KnownModules(context) is { } known && !known.Contains($"tcp_{control}"))
            {
                throw new ResourceException($"{control} is not a congestion control this kernel has: available now: {string.Join(' ', available.Order(StringComparer.Ordinal))}, " +
                    $"and no module tcp_{control} is listed under /lib/modules");
            }
            changes.Add(new Change($"module tcp_{control}", "not loaded", "loaded"));
        }
        return Task.FromResult(new ResourcePlan { Changes = changes });
    }

    /// <summary>
    /// The modules this kernel has (modules.dep and modules.builtin under /lib/modules/RELEASE), or null
    /// when they cannot be read here: then the dry run cannot tell, and modprobe will.
    /// </summary>
    private static HashSet<string>? KnownModules(ResourceContext context)
    {
        var releaseFile = Path.Join(context.Paths.ProcSys, "kernel", "osrelease");
        if (!File.Exists(releaseFile))
        {
            return null;
        }
        var directory = context.Paths.Map($"/lib/modules/{File.ReadAllText(releaseFile).Trim()}");
        var lists = ModuleLists.Select(f => Path.Join(directory, f)).Where(File.Exists).ToList();
        if (lists.Count == 0)
        {
            return null;
        }
        // Lines like "kernel/net/ipv4/tcp_bbr.ko.xz: ..." or "kernel/net/ipv4/tcp_cubic.ko".
        return lists.SelectMany(File.ReadLines)
            .Select(line => Path.GetFileName(line.Split(':')[0]))
            .Select(name => name.Split('.')[0])
            .ToHashSet(StringComparer.Ordinal);
    }
    /// <inheritdoc/>
    public async Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        context.WriteFile(hostPath, Id, Content());
        var available = Available(context);
        foreach (var control in congestionControls.Where(c => !available.Contains(c)))
        {
            var result = await context.Runner.RunAsync(["modprobe", $"tcp_{control}"], cancellationToken);
            if (!result.Succeeded)
            {
                throw new ResourceException($"tcp_{control} is not available and could not be loaded: {new CommandFailedException(result).Message}");
            }
        }
    }

    private static HashSet<string> Available(ResourceContext context)
    {
        var path = context.Paths.SysctlFile("net.ipv4.tcp_available_congestion_control");
        return File.Exists(path)
            ? new HashSet<string>(File.ReadAllText(path).Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal)
            : [];
    }
}
