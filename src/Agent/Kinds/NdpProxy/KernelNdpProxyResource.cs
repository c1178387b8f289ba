using System.Net;
using Hawser.Agent.Reconcile;
using Hawser.Agent.State;

namespace Hawser.Agent.Kinds.NdpProxy;

/// <summary>
/// Kernel NDP proxy entries (<c>ip -6 neigh add proxy ADDR dev IFACE</c>), one per /128, no daemon.
/// They do not survive a reboot, so every converge re-adds missing ones; entries the agent added and
/// the spec no longer lists are removed, and entries someone else added are left alone.
/// </summary>
public sealed class KernelNdpProxyResource(string iface, IReadOnlyList<IPAddress> addresses, IReadOnlyList<string> dependsOn) : IResource
{
    /// <inheritdoc/>
    public string Id => $"ndp-proxy:kernel:{iface}";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn { get; } = dependsOn;

    /// <inheritdoc/>
    public async Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var (missing, stale) = await DiffAsync(context, cancellationToken);
        return new ResourcePlan
        {
            Changes = [.. missing.Select(a => new Change($"proxy {a} dev {iface}", null, "present")),
                .. stale.Select(a => new Change($"proxy {a} dev {iface}", "present", null))],
        };
    }

    /// <inheritdoc/>
    public async Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        var (missing, stale) = await DiffAsync(context, cancellationToken);
        foreach (var address in missing)
        {
            // Recorded first: an entry added just before a crash is still known, and removed when its block goes.
            context.State.KernelProxies[Key(iface, address)] = new KernelProxyRecord(Id, iface, address.ToString());
            context.SaveState();
            (await context.Runner.RunAsync(["ip", "-6", "neigh", "add", "proxy", address.ToString(), "dev", iface], cancellationToken)).EnsureSuccess();
        }
        foreach (var address in stale)
        {
            await RemoveAsync(context, iface, address, cancellationToken);
        }
    }

    /// <summary>Deletes one entry and forgets it.</summary>
    internal static async Task RemoveAsync(ResourceContext context, string iface, IPAddress address, CancellationToken cancellationToken)
    {
        var result = await context.Runner.RunAsync(["ip", "-6", "neigh", "del", "proxy", address.ToString(), "dev", iface], cancellationToken);
        if (!result.Succeeded && (await ListAsync(context, iface, cancellationToken)).Contains(address))
        {
            result.EnsureSuccess();
        }
        context.State.KernelProxies.Remove(Key(iface, address));
    }

    /// <summary>The proxy entries on <paramref name="iface"/>.</summary>
    internal static async Task<HashSet<IPAddress>> ListAsync(ResourceContext context, string iface, CancellationToken cancellationToken)
    {
        var result = (await context.Runner.RunAsync(["ip", "-6", "neigh", "show", "proxy", "dev", iface], cancellationToken)).EnsureSuccess();
        var present = new HashSet<IPAddress>();
        foreach (var line in result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (IPAddress.TryParse(line.Split(' ')[0], out var address))
            {
                present.Add(address);
            }
        }
        return present;
    }

    internal static string Key(string iface, IPAddress address) => $"{iface} {address}";

    private async Task<(List<IPAddress> Missing, List<IPAddress> Stale)> DiffAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var present = await ListAsync(context, iface, cancellationToken);
        var missing = addresses.Where(a => !present.Contains(a)).ToList();
        var stale = context.State.KernelProxies.Values
            .Where(r => r.Owner == Id && IPAddress.TryParse(r.Address, out var a) && !addresses.Contains(a) && present.Contains(a))
            .Select(r => IPAddress.Parse(r.Address))
            .ToList();
        return (missing, stale);
    }
}
