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
            removed.AddRange(AtomicFile.RemoveStaleTemporaries(onDisk));
            if (!Directory.Exists(onDisk))
            {
                continue;
            }
            // Supplied certificates one level down; pair stores (.hawser-NAME-N) and their versions.
            foreach (var sub in Directory.EnumerateDirectories(onDisk).Where(d => directory == Fleet.DesiredStateFile.SuppliedCertificates || Path.GetFileName(d).StartsWith(".hawser-", StringComparison.Ordinal)))
            {
                removed.AddRange(AtomicFile.RemoveStaleTemporaries(sub));
                foreach (var version in Directory.EnumerateDirectories(sub, "v-*"))
                {
                    removed.AddRange(AtomicFile.RemoveStaleTemporaries(version));
                }
            }
        }
        return removed;
    }
}
