using Hawser.Agent.Configuration;
using Hawser.Agent.HostServices;
using Hawser.Agent.Reconcile;
using Hawser.Shared.HostAccess;
using Hawser.Shared.IO;

namespace Hawser.Agent.State;

/// <summary>
/// The temp files a SIGKILL left behind in the directories this agent writes (its state, the files it
/// manages, certificate pair stores), removed at the start of a converge while the host lock is held.
/// </summary>
public static class StaleTemporaries
{
    /// <summary>Removes them and returns the host paths removed.</summary>
    public static IReadOnlyList<string> Remove(AgentConfig config, HostPaths paths, AgentState state)
    {
        var area = WritableArea.For(config, paths);
        var directories = new HashSet<string>(StringComparer.Ordinal)
        {
            "/var/lib/hawser", Fleet.DesiredStateFile.SuppliedCertificates,
        };
        foreach (var file in state.Files.Keys.Concat([config.SysctlFile, config.ModulesFile, config.NdppdConfig, config.DockerConfig, Kinds.Ufw.UfwForwardPolicyResource.DefaultsFile]))
        {
            directories.Add(Path.GetDirectoryName(file)!);
        }
        var removed = new List<string>();
        foreach (var directory in directories)
        {
            string onDisk;
            try
            {
                onDisk = Path.GetDirectoryName(area.ForRead(Path.Join(directory, "x")))!;
            }
            catch (ResourceException)
            {
                continue; // a directory that leads outside --root is not ours to clean
            }
            removed.AddRange(AtomicFile.RemoveStaleTemporaries(onDisk, noSymlinks: true));
            if (!Directory.Exists(onDisk))
            {
                continue;
            }
            // Supplied certificates one level down; pair stores (.hawser-NAME-N) and their versions. Only real directories:
            // a link planted under one of those names would lead the clean-up outside (and noSymlinks refuses it anyway).
            foreach (var sub in RealDirectories(onDisk, "*").Where(d => directory == Fleet.DesiredStateFile.SuppliedCertificates || Path.GetFileName(d).StartsWith(".hawser-", StringComparison.Ordinal)))
            {
                removed.AddRange(Remove(sub));
                foreach (var version in RealDirectories(sub, "v-*"))
                {
                    removed.AddRange(Remove(version));
                }
            }
        }
        return removed;
    }

    private static IEnumerable<string> RealDirectories(string directory, string pattern) =>
        Directory.EnumerateDirectories(directory, pattern).Where(d => AtomicFile.Stat(d)?.Kind == FileKind.Directory);

    private static IReadOnlyList<string> Remove(string directory)
    {
        try
        {
            return AtomicFile.RemoveStaleTemporaries(directory, noSymlinks: true);
        }
        catch (IOException)
        {
            return []; // a link swapped in since it was listed: not ours to clean
        }
    }
}
