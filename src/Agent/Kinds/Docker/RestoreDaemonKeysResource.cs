using System.Text.Json.Nodes;
using Hawser.Agent.Reconcile;
using Hawser.Agent.Resources;
using Hawser.Agent.State;

namespace Hawser.Agent.Kinds.Docker;

/// <summary>Puts daemon.json keys the spec no longer manages back as they were, and restarts the daemon.</summary>
public sealed class RestoreDaemonKeysResource(string configPath, IReadOnlyDictionary<string, DaemonKeyRecord> records, TimeSpan startTimeout) : IRestoreResource
{
    /// <inheritdoc/>
    public string Id => "restore:docker:daemon";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    /// <inheritdoc/>
    public Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var config = new DockerDaemonResource(configPath, new()).ReadConfig(context);
        var changes = records
            .Where(r => !JsonNode.DeepEquals(config[r.Key], Previous(r.Value)))
            .Select(r => new Change($"{configPath} \"{r.Key}\"", config[r.Key]?.ToJsonString(), r.Value.Previous))
            .ToList();
        return Task.FromResult(new ResourcePlan { Changes = changes });
    }

    /// <inheritdoc/>
    public async Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        var previous = context.ReadFile(configPath);
        var config = new DockerDaemonResource(configPath, new()).ReadConfig(context);
        foreach (var (key, record) in records)
        {
            if (Previous(record) is { } value)
            {
                config[key] = value;
            }
            else
            {
                config.Remove(key);
            }
        }
        var version = await context.Docker.VersionAsync(cancellationToken);
        await DockerDaemonResource.WriteAndRestartAsync(context, configPath, previous, DockerDaemonResource.Serialize(config), version, startTimeout, cancellationToken);
    }

    /// <inheritdoc/>
    public void Forget(AgentState state)
    {
        foreach (var key in records.Keys)
        {
            state.DaemonKeys.Remove(key);
        }
    }

    private static JsonNode? Previous(DaemonKeyRecord record) => record.Previous is null ? null : JsonNode.Parse(record.Previous);
}
