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

    /// <summary>Where the controller's certificate material for certificate NAME is kept (NAME/fullchain.pem, NAME/privkey.pem).</summary>
    public const string SuppliedCertificates = "/var/lib/hawser/certificates";

    private string ThumbprintPath => paths.Map("/var/lib/hawser/acme-thumbprint");

    /// <summary>The ACME account thumbprint the controller last sent, or null.</summary>
    public string? AcmeThumbprint => File.Exists(ThumbprintPath) ? File.ReadAllText(ThumbprintPath).Trim() is { Length: > 0 } t ? t : null : null;

    /// <summary>Stores a new desired state: certificate material first, then the spec, then its number.</summary>
    public void Save(ulong revision, string yaml, IReadOnlyDictionary<string, (string Chain, string Key)>? certificates = null, string? acmeThumbprint = null)
    {
        var directory = paths.Map(SuppliedCertificates);
        foreach (var (name, (chain, key)) in certificates ?? new Dictionary<string, (string, string)>())
        {
            // Names are spec certificate names, which the parser limits to safe file names; check again, as they name directories here.
            if (!Shared.Spec.SpecParser.IsValidNodeName(name))
            {
                throw new InvalidDataException($"the controller sent certificate material under the name '{name}', which is not a valid certificate name");
            }
            AtomicFile.Write(Path.Join(directory, name, "privkey.pem"), System.Text.Encoding.ASCII.GetBytes(key), Private);
            AtomicFile.Write(Path.Join(directory, name, "fullchain.pem"), System.Text.Encoding.ASCII.GetBytes(chain), Private);
        }
        if (Directory.Exists(directory))
        {
            foreach (var stale in Directory.GetDirectories(directory).Where(d => certificates?.ContainsKey(Path.GetFileName(d)) != true))
            {
                Directory.Delete(stale, recursive: true);
            }
        }
        AtomicFile.Write(ThumbprintPath, System.Text.Encoding.ASCII.GetBytes(acmeThumbprint ?? ""), Private);
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
