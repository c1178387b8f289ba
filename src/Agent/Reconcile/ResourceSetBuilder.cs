using Hawser.Agent.Configuration;
using Hawser.Agent.HostServices;
using Hawser.Agent.Kinds;
using Hawser.Agent.Resources;
using Hawser.Agent.State;
using Hawser.Shared.HostAccess;
using Hawser.Shared.Spec;

namespace Hawser.Agent.Reconcile;

/// <summary>
/// Turns a node's resolved blocks into resources, kind by kind in the order of
/// <see cref="ResourceKinds.All"/> (sysctls with their modules and file, ufw, NDP, the Docker daemon and
/// its networks, firewall rules, certificates), then adds the undo of everything the state records for
/// blocks that are gone.
/// </summary>
public sealed class ResourceSetBuilder(AgentConfig config, HostPaths paths, AgentState state, string specDirectory, Upgrade.IAgentReleases? releases = null)
{
    private readonly KindContext _context = new(config, paths, state, WritableArea.For(config, paths), specDirectory) { Releases = releases };

    /// <summary>Builds the list; problems with one block become a resource that fails alone.</summary>
    public IReadOnlyList<IResource> Build(ResourceBlocks blocks)
    {
        var sysctls = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in ResourceKinds.All.SelectMany(kind => kind.RequiredSysctls(blocks)))
        {
            sysctls.TryAdd(key, value);
        }
        var own = blocks.Get(Shared.Spec.Kinds.Sysctls.SysctlsKind.Instance) ?? new Dictionary<string, string>();
        foreach (var (key, value) in own)
        {
            sysctls[key] = value;
        }
        var context = _context with { Sysctls = sysctls };
        var resources = new List<IResource>();
        foreach (var kind in ResourceKinds.All)
        {
            kind.AddResources(blocks, context, resources);
        }
        var built = resources.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var (path, record) in state.Files.Where(f => !built.Contains(f.Value.Owner)).OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            resources.Add(new RestoreFileResource(path, record, ResourceKinds.All.Select(k => k.AfterRestore(path, record, context)).FirstOrDefault(a => a is not null)));
        }
        foreach (var kind in ResourceKinds.All)
        {
            kind.AddRestores(blocks, context, built, resources);
        }
        return resources;
    }
}
