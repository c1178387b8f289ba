using System.Net;
using System.Text.Json.Nodes;
using Hawser.Agent.Reconcile;
using Hawser.Agent.State;
using Hawser.Shared.IO;

namespace Hawser.Agent.Resources;

/// <summary>
/// Undoes something the agent did for a block that is no longer in the spec. Once the host is back,
/// the state record is forgotten (<see cref="Forget"/>), so the undo happens once.
/// </summary>
public interface IRestoreResource : IResource
{
    /// <summary>Drops the state record this resource restores.</summary>
    void Forget(AgentState state);
}

/// <summary>Puts back the bytes a file held before the agent first wrote it, or removes a file the agent created.</summary>
public sealed class RestoreFileResource(string hostPath, FileRecord record, Func<ResourceContext, CancellationToken, Task>? afterRestore = null) : IRestoreResource
{
    /// <inheritdoc/>
    public string Id => $"restore:file:{hostPath}";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    /// <inheritdoc/>
    public Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var path = context.Area.ForRestore(hostPath);
        var link = new FileInfo(path).LinkTarget;
        if (record.LinkTarget is { } wantedLink)
        {
            return Task.FromResult(link == wantedLink ? ResourcePlan.Synced()
                : new ResourcePlan { Changes = [new Change(hostPath, link is null ? "a file" : $"link to {link} (from {record.Owner})", $"link to {wantedLink} as before")] });
        }
        var current = File.Exists(path) ? File.ReadAllBytes(path) : null;
        var original = record.OriginalBytes;
        var same = link is null && (original is null ? current is null : current is not null && current.AsSpan().SequenceEqual(original));
        return Task.FromResult(same ? ResourcePlan.Synced()
            : new ResourcePlan { Changes = [new Change(hostPath, current is null ? null : $"{current.Length} bytes (from {record.Owner})", original is null ? null : $"{original.Length} bytes as before")] });
    }

    /// <inheritdoc/>
    public async Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        var path = context.Area.ForRestore(hostPath);
        if (record.LinkTarget is { } link)
        {
            // It was a link (say into /etc/letsencrypt): put the link back, not a copy of what it pointed to.
            AtomicFile.ReplaceSymlink(path, link);
        }
        else if (record.OriginalBytes is { } original)
        {
            // The link there, if any, is the agent's own (a certificate pair's), replaced by the file it stood for.
            AtomicFile.Write(path, original, record.Mode is { } mode ? (UnixFileMode)mode : FileModes.PublicFile, replaceSymlink: true);
        }
        else
        {
            AtomicFile.Delete(path);
        }
        if (afterRestore is not null)
        {
            await afterRestore(context, cancellationToken);
        }
    }

    /// <inheritdoc/>
    public void Forget(AgentState state) => state.Files.Remove(hostPath);
}

/// <summary>Puts a kernel parameter back to the value it had before the agent first set it.</summary>
public sealed class RestoreSysctlResource(string key, SysctlRecord record) : IRestoreResource
{
    /// <inheritdoc/>
    public string Id => $"restore:sysctl:{key}";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    /// <inheritdoc/>
    public Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var path = context.Paths.SysctlFile(key);
        if (!File.Exists(path))
        {
            return Task.FromResult(ResourcePlan.Synced([$"{key} no longer exists here; nothing to restore"]));
        }
        var current = File.ReadAllText(path).TrimEnd('\n');
        return Task.FromResult(SysctlResource.Normalize(current) == SysctlResource.Normalize(record.Previous)
            ? ResourcePlan.Synced()
            : new ResourcePlan { Changes = [new Change(path, current, record.Previous)] });
    }

    /// <inheritdoc/>
    public Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        SysctlResource.Write(context, key, record.Previous);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public void Forget(AgentState state) => state.Sysctls.Remove(key);
}

/// <summary>Removes a kernel NDP proxy entry the agent added for a block that is gone.</summary>
public sealed class RemoveKernelProxyResource(KernelProxyRecord record) : IRestoreResource
{
    private readonly IPAddress _address = IPAddress.Parse(record.Address);

    /// <inheritdoc/>
    public string Id => $"restore:ndp-proxy:{record.Interface}:{record.Address}";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    /// <inheritdoc/>
    public async Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var present = await KernelNdpProxyResource.ListAsync(context, record.Interface, cancellationToken);
        return present.Contains(_address)
            ? new ResourcePlan { Changes = [new Change($"proxy {record.Address} dev {record.Interface}", "present", null)] }
            : ResourcePlan.Synced();
    }

    /// <inheritdoc/>
    public Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken) =>
        KernelNdpProxyResource.RemoveAsync(context, record.Interface, _address, cancellationToken);

    /// <inheritdoc/>
    public void Forget(AgentState state) => state.KernelProxies.Remove(KernelNdpProxyResource.Key(record.Interface, _address));
}

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

/// <summary>A resource that cannot even be built (its input is unreadable); it fails alone with the reason.</summary>
public sealed class UnavailableResource(string id, string reason) : IResource
{
    /// <inheritdoc/>
    public string Id => id;

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    /// <inheritdoc/>
    public Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken) => throw new ResourceException(reason);

    /// <inheritdoc/>
    public Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken) => throw new ResourceException(reason);
}
