using System.Net;
using System.Text.Json.Nodes;
using Hawser.Agent.Reconcile;
using Hawser.Shared.Spec.Kinds.Docker;

namespace Hawser.Agent.Kinds.Docker;

/// <summary>
/// A user-defined Docker network with an IPv6 subnet. Created when missing; an existing network with
/// another subnet is drift, replaced only when the spec says <c>recreate: true</c> and no container is attached.
/// </summary>
public sealed class DockerNetworkResource(DockerNetworkSpec spec, IReadOnlyList<string> dependsOn) : IResource
{
    /// <inheritdoc/>
    public string Id => $"docker:network:{spec.Name}";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn { get; } = dependsOn;

    /// <inheritdoc/>
    public async Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var network = await context.Docker.InspectNetworkAsync(spec.Name, cancellationToken);
        if (network is null)
        {
            return new ResourcePlan { Changes = [new Change($"network {spec.Name}", null, Describe(spec.Ipv6Subnet))] };
        }
        var (enabled, subnet) = Read(network);
        if (spec.Ipv6Subnet is null || (enabled && subnet == spec.Ipv6Subnet))
        {
            return ResourcePlan.Synced();
        }
        var change = new Change($"network {spec.Name}", enabled ? Describe(subnet) : "IPv6 off", Describe(spec.Ipv6Subnet));
        if (!spec.Recreate)
        {
            throw new ResourceException($"network {spec.Name} exists with {change.From}, the spec wants {change.To} (drift); "
                + "set recreate: true on it to replace the network (only done when no container is attached)");
        }
        return new ResourcePlan { Changes = [change] };
    }

    /// <inheritdoc/>
    public async Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        var network = await context.Docker.InspectNetworkAsync(spec.Name, cancellationToken);
        if (network is not null)
        {
            var attached = (network["Containers"] as JsonObject)?.Select(c => c.Value?["Name"]?.GetValue<string>() ?? c.Key).ToList() ?? [];
            if (attached.Count > 0)
            {
                throw new ResourceException($"network {spec.Name} must be recreated for its new subnet, but containers are attached: {string.Join(", ", attached)}; detach them first");
            }
            await context.Docker.RemoveNetworkAsync(spec.Name, cancellationToken);
        }
        var ipam = new JsonArray();
        if (spec.Ipv6Subnet is { } subnet)
        {
            ipam.Add((JsonNode)new JsonObject { ["Subnet"] = subnet.ToString() });
        }
        await context.Docker.CreateNetworkAsync(new JsonObject
        {
            ["Name"] = spec.Name,
            ["Driver"] = "bridge",
            ["CheckDuplicate"] = true,
            ["EnableIPv6"] = spec.Ipv6Subnet is not null,
            ["IPAM"] = new JsonObject { ["Driver"] = "default", ["Config"] = ipam },
            ["Labels"] = new JsonObject { ["org.hawser.managed"] = "true" },
        }, cancellationToken);
    }

    private static (bool Enabled, IPNetwork? Subnet) Read(JsonNode network)
    {
        var enabled = network["EnableIPv6"]?.GetValue<bool>() ?? false;
        IPNetwork? subnet = null;
        foreach (var config in network["IPAM"]?["Config"] as JsonArray ?? [])
        {
            if (IPNetwork.TryParse(config?["Subnet"]?.GetValue<string>(), out var parsed) && parsed.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                subnet = parsed;
            }
        }
        return (enabled, subnet);
    }

    private static string Describe(IPNetwork? subnet) => subnet is null ? "no IPv6 subnet" : $"IPv6 subnet {subnet}";
}
