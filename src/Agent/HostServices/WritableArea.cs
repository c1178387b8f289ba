using Hawser.Agent.Reconcile;
using Hawser.Shared.HostAccess;
using Hawser.Shared.IO;
using Hawser.Shared.Spec;

namespace Hawser.Agent.HostServices;

/// <summary>
/// Where this agent may write, checked on the real file system rather than in path text: before each
/// write the target's parent directories are resolved on disk one by one, and a symbolic link that
/// leads outside <c>--root</c>, outside the allowed paths, or into the agent's own directories is
/// refused, naming the link. Writes then go to the resolved directory, never back through the link text.
/// </summary>
public sealed class WritableArea(HostPaths paths, IReadOnlyCollection<string> allowed)
{
    /// <summary>The area agent.yaml describes: its allowedPaths plus the files it names itself (sysctl.d, ndppd.conf, node_exporter's textfile, ...).</summary>
    public static WritableArea For(Configuration.AgentConfig config, HostPaths paths) => new(paths,
        [.. config.AllowedPaths, config.SysctlFile, config.ModulesFile, config.NdppdConfig, config.DockerConfig, Kinds.Ufw.UfwForwardPolicyResource.DefaultsFile,
            .. config.TextfileCollector is { } textfile ? [textfile.TrimEnd('/') + "/" + Fleet.NodeExporterTextfile.FileName] : Array.Empty<string>()]);

    /// <summary>The on-disk path to write host file <paramref name="hostPath"/>; refuses, naming the link, when its real location is not allowed.</summary>
    public string ForWrite(string hostPath) => Resolve(hostPath, Purpose.Write);

    /// <summary>
    /// The on-disk path to put back a file the agent itself changed earlier (allowed then, perhaps not since);
    /// a link planted since that leads elsewhere is still refused.
    /// </summary>
    public string ForRestore(string hostPath) => Resolve(hostPath, Purpose.Restore);

    /// <summary>The on-disk path to read host file <paramref name="hostPath"/>: its real location must stay beneath <c>--root</c>.</summary>
    public string ForRead(string hostPath) => Resolve(hostPath, Purpose.Read);

    private enum Purpose { Write, Restore, Read }

    private string Resolve(string hostPath, Purpose purpose)
    {
        if (!hostPath.StartsWith('/'))
        {
            throw new ResourceException($"host path '{hostPath}' is not absolute");
        }
        var normal = Path.GetFullPath(hostPath);
        var root = RealPath.Of(paths.Root) ?? throw new ResourceException($"--root {paths.Root} does not exist");
        var parts = normal.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            throw new ResourceException($"host path '{hostPath}' names the root directory, not a file");
        }
        var directory = root;
        var hostSoFar = "";
        string? link = null;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            hostSoFar += "/" + parts[i];
            var next = Path.Join(directory, parts[i]);
            switch (AtomicFile.Stat(next)?.Kind)
            {
                case null:
                    // Missing from here down: created as plain directories beneath what is resolved so far.
                    directory = Path.Join([directory, .. parts[i..^1]]);
                    i = parts.Length;
                    break;
                case FileKind.Directory:
                    directory = next;
                    break;
                case FileKind.SymbolicLink:
                    link ??= $"{hostSoFar} (a symbolic link to {new FileInfo(next).LinkTarget})";
                    directory = RealPath.Of(next) ?? throw Refused(hostPath, purpose, $"{hostSoFar} is a symbolic link to {new FileInfo(next).LinkTarget}, which leads nowhere");
                    break;
                default:
                    throw Refused(hostPath, purpose, $"{hostSoFar} is not a directory");
            }
        }
        if (!RealPath.IsBeneath(directory, root))
        {
            throw Refused(hostPath, purpose, $"{link} leads to {directory}, outside --root {paths.Root}");
        }
        var realDirectory = root == "/" ? directory : "/" + directory[root.Length..].TrimStart('/');
        var real = Path.Join(realDirectory, parts[^1]);
        if (purpose != Purpose.Read)
        {
            if (SpecRules.ReservedPrefixes.Any(reserved => real.StartsWith(reserved, StringComparison.Ordinal)))
            {
                throw Refused(hostPath, purpose, link is null
                    ? "it is inside the agent's own directories, which a spec never writes"
                    : $"{link} leads into the agent's own directories ({real})");
            }
            var mustBeAllowed = purpose == Purpose.Write || real != normal;
            if (mustBeAllowed && !SpecRules.IsWritable(allowed, real))
            {
                throw Refused(hostPath, purpose, link is null
                    ? "it is outside the paths the agent may write"
                    : $"{link} leads to {real}, outside the paths the agent may write");
            }
        }
        var onDisk = Path.Join(directory, parts[^1]);
        if (purpose == Purpose.Read && AtomicFile.Stat(onDisk)?.Kind == FileKind.SymbolicLink
            && RealPath.Of(onDisk) is { } target && !RealPath.IsBeneath(target, root))
        {
            throw new ResourceException($"refusing to read {hostPath}: it is a symbolic link to {new FileInfo(onDisk).LinkTarget}, outside --root {paths.Root}");
        }
        return onDisk;
    }

    private static ResourceException Refused(string hostPath, Purpose purpose, string why) =>
        new($"refusing to {purpose.ToString().ToLowerInvariant()} {hostPath}: {why}; nothing was written there");
}
