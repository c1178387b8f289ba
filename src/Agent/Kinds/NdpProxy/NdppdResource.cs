using System.Text;
using Hawser.Agent.Reconcile;
using Hawser.Shared.Spec.Kinds.NdpProxy;

namespace Hawser.Agent.Kinds.NdpProxy;

/// <summary>
/// ndppd answering neighbour solicitations for prefixes on one interface: /etc/ndppd.conf in ndppd
/// 0.2's grammar, and a restart when it changed (ndppd cannot reload), then the service must run.
/// </summary>
public sealed class NdppdResource(string configPath, NdpProxySpec spec, IReadOnlyList<string> dependsOn) : IResource
{
    /// <summary>The init system's name for the daemon.</summary>
    public const string ServiceName = "ndppd";

    /// <inheritdoc/>
    public string Id => "ndp-proxy:ndppd";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn { get; } = dependsOn;

    /// <summary>The config file's content.</summary>
    public byte[] Content()
    {
        var text = new StringBuilder();
        text.Append("# Managed by hawser-agent: changes here are overwritten. Edit the spec instead.\n");
        text.Append("route-ttl 30000\n");
        text.Append("proxy ").Append(spec.Interface).Append(" {\n");
        text.Append("    router yes\n    timeout 500\n    ttl 30000\n");
        foreach (var rule in spec.Rules)
        {
            text.Append("    rule ").Append(rule.Prefix.ToString()).Append(" {\n");
            text.Append("        ").Append(rule.Method == "iface" ? $"iface {rule.Via}" : rule.Method).Append('\n');
            text.Append("    }\n");
        }
        text.Append("}\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <inheritdoc/>
    public async Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var changes = new List<Change>();
        var warnings = new List<string>();
        var current = context.ReadFile(configPath);
        if (current is null || !current.AsSpan().SequenceEqual(Content()))
        {
            changes.Add(new Change(configPath, current is null ? null : $"{current.Length} bytes", $"{spec.Rules.Count} rule(s) on {spec.Interface}"));
        }
        if (!await context.Services.IsActiveAsync(ServiceName, cancellationToken))
        {
            changes.Add(new Change("ndppd service", "not running", "running"));
        }
        foreach (var rule in spec.Rules.Where(r => r.Method == "static" && r.Prefix.PrefixLength < 80))
        {
            warnings.Add($"ndppd answers every address of static rule {rule.Prefix}; it warns on prefixes shorter than /80, which flood the neighbour table");
        }
        return new ResourcePlan { Changes = changes, Warnings = warnings };
    }

    /// <inheritdoc/>
    public async Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        var current = context.ReadFile(configPath);
        if (current is null || !current.AsSpan().SequenceEqual(Content()))
        {
            context.WriteFile(configPath, Id, Content());
        }
        await context.Services.RestartAsync(ServiceName, cancellationToken);
        // ndppd reads its config after daemonizing; give a bad config time to make it exit.
        for (var i = 0; i < 10 && !await context.Services.IsActiveAsync(ServiceName, cancellationToken); i++)
        {
            await Task.Delay(100, cancellationToken);
        }
    }
}
