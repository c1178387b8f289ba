using System.Text;
using Hawser.Agent.Reconcile;
using Hawser.Shared.HostAccess;

namespace Hawser.Agent.Resources;

/// <summary>
/// Kernel modules a setting needs (tcp_bbr for <c>tcp_congestion_control=bbr</c>): loaded now with
/// modprobe, and listed in a modules-load.d file so they load at boot.
/// </summary>
public sealed class KernelModulesResource(string hostPath, IReadOnlyList<string> congestionControls) : IResource
{
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
            changes.Add(new Change($"module tcp_{control}", "not loaded", "loaded"));
        }
        return Task.FromResult(new ResourcePlan { Changes = changes });
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
