using System.Globalization;
using Hawser.Shared.Host;
using Hawser.Shared.IO;

namespace Hawser.Agent.Fleet;

/// <summary>The last desired state the controller sent, kept on disk so the agent converges to it offline and after a restart.</summary>
public sealed class DesiredStateFile(HostPaths paths)
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The spec file, which also anchors relative certificate sources.</summary>
    public string SpecPath => paths.Map("/var/lib/hawser/desired.yaml");

    private string RevisionPath => paths.Map("/var/lib/hawser/desired.revision");

    private string AppliedPath => paths.Map("/var/lib/hawser/applied.revision");

    /// <summary>The stored state, or null before the first one arrived.</summary>
    public (ulong Revision, string Yaml)? Load() =>
        File.Exists(SpecPath) && File.Exists(RevisionPath)
            ? (ulong.Parse(File.ReadAllText(RevisionPath).Trim(), CultureInfo.InvariantCulture), File.ReadAllText(SpecPath))
            : null;

    /// <summary>Stores a new desired state (spec first, then its number).</summary>
    public void Save(ulong revision, string yaml)
    {
        AtomicFile.Write(SpecPath, System.Text.Encoding.UTF8.GetBytes(yaml), Private);
        AtomicFile.Write(RevisionPath, System.Text.Encoding.ASCII.GetBytes(revision.ToString(CultureInfo.InvariantCulture)), Private);
    }

    /// <summary>The revision last converged without failure; 0 before any.</summary>
    public ulong Applied => File.Exists(AppliedPath) ? ulong.Parse(File.ReadAllText(AppliedPath).Trim(), CultureInfo.InvariantCulture) : 0;

    /// <summary>Records the revision converged without failure.</summary>
    public void SaveApplied(ulong revision)
    {
        if (Applied != revision)
        {
            AtomicFile.Write(AppliedPath, System.Text.Encoding.ASCII.GetBytes(revision.ToString(CultureInfo.InvariantCulture)), Private);
        }
    }
}
