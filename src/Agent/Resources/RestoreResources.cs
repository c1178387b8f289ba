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
            AtomicFile.ReplaceSymlink(path, link, noSymlinks: true);
        }
        else if (record.OriginalBytes is { } original)
        {
            // The link there, if any, is the agent's own (a certificate pair's), replaced by the file it stood for.
            AtomicFile.Write(path, original, record.Mode is { } mode ? (UnixFileMode)mode : FileModes.PublicFile, replaceSymlink: true, noSymlinks: true);
        }
        else
        {
            AtomicFile.Delete(path, noSymlinks: true);
        }
        if (afterRestore is not null)
        {
            await afterRestore(context, cancellationToken);
        }
    }

    /// <inheritdoc/>
    public void Forget(AgentState state) => state.Files.Remove(hostPath);
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
