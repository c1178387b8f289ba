using System.Globalization;
using Hawser.Shared.HostAccess;
using Hawser.Agent.State;
using Hawser.Shared.IO;

namespace Hawser.Agent.Fleet;

/// <summary>The last desired state the controller sent, kept on disk so the agent converges to it offline and after a restart.</summary>
public sealed class DesiredStateFile(HostPaths paths)
{
    private const string Spec = AgentDirectory.HostPath + "/desired.yaml", Revision = AgentDirectory.HostPath + "/desired.revision",
        AppliedRevision = AgentDirectory.HostPath + "/applied.revision", Thumbprint = AgentDirectory.HostPath + "/acme-thumbprint",
        // Present from a Save until a converge of what was saved leaves nothing failed; kept on disk so an agent
        // restarted in between still tells the controller its next converge is of a new desired state.
        NewMarker = AgentDirectory.HostPath + "/desired.new";

    /// <summary>The spec file, which also anchors relative certificate sources.</summary>
    public string SpecPath => paths.Map(Spec);

    private string RevisionPath => paths.Map(Revision);

    private string AppliedPath => paths.Map(AppliedRevision);

    private string NewMarkerPath => paths.Map(NewMarker);

    /// <summary>True from a <see cref="Save"/> until <see cref="SaveApplied"/>: the stored state has not yet been converged without failure.</summary>
    public bool IsNew => File.Exists(NewMarkerPath);

    /// <summary>
    /// What marks the stored state new (each <see cref="Save"/> of a changed state writes a fresh one), or null when it is
    /// not new; read before a converge and given to <see cref="SaveApplied"/> after it.
    /// </summary>
    public string? NewMark
    {
        get
        {
            try
            {
                return File.ReadAllText(NewMarkerPath);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// The stored state, or null before the first one arrived; <see cref="InvalidDataException"/> naming the
    /// file when what is stored cannot be read (the controller is then asked to send it again).
    /// </summary>
    public (ulong Revision, string Yaml)? Load()
    {
        if (!File.Exists(SpecPath) || !File.Exists(RevisionPath))
        {
            return null;
        }
        try
        {
            return (ReadRevision(RevisionPath), TextInput.ReadUtf8(SpecPath));
        }
        catch (IOException ex)
        {
            throw new InvalidDataException($"cannot read {SpecPath}: {ex.Message}", ex);
        }
    }

    private static ulong ReadRevision(string path)
    {
        var text = File.ReadAllText(path).Trim();
        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var revision)
            ? revision
            : throw new InvalidDataException($"{path} holds '{(text.Length > 40 ? text[..40] + "..." : text)}', not a revision number");
    }

    /// <summary>Where the controller's certificate material for certificate NAME is kept (NAME/fullchain.pem, NAME/privkey.pem).</summary>
    public const string SuppliedCertificates = AgentDirectory.HostPath + "/certificates";

    private string ThumbprintPath => paths.Map(Thumbprint);

    /// <summary>The ACME account thumbprint the controller last sent, or null.</summary>
    public string? AcmeThumbprint => File.Exists(ThumbprintPath) ? File.ReadAllText(ThumbprintPath).Trim() is { Length: > 0 } t ? t : null : null;

    /// <summary>Stores a new desired state: certificate material first, then the spec, then its number.</summary>
    public void Save(ulong revision, string yaml, IReadOnlyDictionary<string, (string Chain, string Key)>? certificates = null, string? acmeThumbprint = null)
    {
        var directory = paths.Map(SuppliedCertificates);
        // The same state sent again (as on every reconnect when certificates are involved) is not new: what its
        // converge changes is drift.
        if (!IsStored(revision, yaml, certificates, acmeThumbprint))
        {
            AgentDirectory.Write(paths, NewMarker, System.Text.Encoding.ASCII.GetBytes(Guid.NewGuid().ToString("N")));
        }
        foreach (var (name, (chain, key)) in certificates ?? new Dictionary<string, (string, string)>())
        {
            // Names are spec certificate names, which the parser limits to safe file names; check again, as they name directories here.
            if (!Shared.Spec.SpecParser.IsValidNodeName(name))
            {
                throw new InvalidDataException($"the controller sent certificate material under the name '{name}', which is not a valid certificate name");
            }
            AgentDirectory.Write(paths, $"{SuppliedCertificates}/{name}/privkey.pem", System.Text.Encoding.ASCII.GetBytes(key));
            AgentDirectory.Write(paths, $"{SuppliedCertificates}/{name}/fullchain.pem", System.Text.Encoding.ASCII.GetBytes(chain));
        }
        if (Directory.Exists(directory))
        {
            foreach (var stale in Directory.GetDirectories(directory).Select(Path.GetFileName).Where(name => certificates?.ContainsKey(name!) != true))
            {
                AgentDirectory.DeleteTree(paths, $"{SuppliedCertificates}/{stale}");
            }
        }
        AgentDirectory.Write(paths, Thumbprint, System.Text.Encoding.ASCII.GetBytes(acmeThumbprint ?? ""));
        AgentDirectory.Write(paths, Spec, System.Text.Encoding.UTF8.GetBytes(yaml));
        AgentDirectory.Write(paths, Revision, System.Text.Encoding.ASCII.GetBytes(revision.ToString(CultureInfo.InvariantCulture)));
    }

    private bool IsStored(ulong revision, string yaml, IReadOnlyDictionary<string, (string Chain, string Key)>? certificates, string? acmeThumbprint)
    {
        var directory = paths.Map(SuppliedCertificates);
        var storedNames = Directory.Exists(directory) ? Directory.GetDirectories(directory).Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal) : [];
        static bool Holds(string path, string text) => File.Exists(path) && File.ReadAllText(path) == text;
        (ulong, string)? stored;
        try
        {
            stored = Load();
        }
        catch (InvalidDataException)
        {
            return false; // unreadable: written anew
        }
        return stored is var (storedRevision, storedYaml) && storedRevision == revision && storedYaml == yaml
            && (AcmeThumbprint ?? "") == (acmeThumbprint ?? "")
            && storedNames.SetEquals(certificates?.Keys ?? [])
            && (certificates ?? new Dictionary<string, (string, string)>()).All(c =>
                Holds(Path.Join(directory, c.Key, "fullchain.pem"), c.Value.Chain) && Holds(Path.Join(directory, c.Key, "privkey.pem"), c.Value.Key));
    }

    /// <summary>The revision last converged without failure; 0 before any, or when the file is unreadable (the controller then sends the state again).</summary>
    public ulong Applied
    {
        get
        {
            try
            {
                return File.Exists(AppliedPath) ? ReadRevision(AppliedPath) : 0;
            }
            catch (InvalidDataException)
            {
                return 0;
            }
        }
    }

    /// <summary>
    /// Records the revision converged without failure. The stored state is no longer new only when its mark is still
    /// <paramref name="convergedMark"/>, the one read before that converge: a state that arrived during it (a renewal's
    /// material comes under the same revision and spec) stays new until its own converge.
    /// </summary>
    public void SaveApplied(ulong revision, string? convergedMark)
    {
        if (Applied != revision)
        {
            AgentDirectory.Write(paths, AppliedRevision, System.Text.Encoding.ASCII.GetBytes(revision.ToString(CultureInfo.InvariantCulture)));
        }
        if (convergedMark is not null && NewMark == convergedMark)
        {
            AgentDirectory.Delete(paths, NewMarker);
        }
    }
}
