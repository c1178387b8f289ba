using System.Text.Json;
using System.Text.Json.Serialization;
using Hawser.Shared.HostAccess;
using Hawser.Shared.IO;

namespace Hawser.Agent.State;

/// <summary>
/// What the agent changed on this host and what it replaced, so that removing a block from the spec
/// restores the host (<c>/var/lib/hawser/state.json</c>). Each record names the resource that owns it;
/// a record whose owner is no longer in the spec is undone on the next converge.
/// </summary>
public sealed class AgentState
{
    /// <summary>Format version of the file.</summary>
    public int Version { get; set; } = 1;

    /// <summary>Files the agent wrote, by host path: what was there before.</summary>
    public Dictionary<string, FileRecord> Files { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Live kernel parameters the agent set, by dotted key: the value before.</summary>
    public Dictionary<string, SysctlRecord> Sysctls { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Kernel NDP proxy entries the agent added, keyed "interface address".</summary>
    public Dictionary<string, KernelProxyRecord> KernelProxies { get; set; } = new(StringComparer.Ordinal);

    /// <summary>daemon.json keys the agent manages: the JSON that was there before (null: absent).</summary>
    public Dictionary<string, DaemonKeyRecord> DaemonKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The ufw rules Hawser added (each as its action and traffic, e.g. <c>allow tcp port 80 from any to any</c>): the only
    /// rules it changes or deletes, whatever comment a rule carries. Null in a state file from before ownership was
    /// recorded: the rules with Hawser's comment are then taken as its own, once.
    /// </summary>
    public List<string>? FirewallRules { get; set; }

    /// <summary>Certificates whose files changed but whose reload has not yet succeeded.</summary>
    public HashSet<string> PendingReloads { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Remembers what <paramref name="hostPath"/> held, and its mode, or the symbolic link it was, before the agent first wrote it.</summary>
    public void RememberFile(string hostPath, string owner, byte[]? original, UnixFileMode? mode, string? linkTarget = null) =>
        Files.TryAdd(hostPath, new FileRecord(owner, original is null ? null : Convert.ToBase64String(original), mode is null ? null : (int)mode, linkTarget));

    /// <summary>Remembers a kernel parameter's value before the agent first set it.</summary>
    public void RememberSysctl(string key, string owner, string previous) => Sysctls.TryAdd(key, new SysctlRecord(owner, previous));

    /// <summary>Loads the state file, or an empty state when there is none.</summary>
    public static AgentState Load(HostPaths paths)
    {
        var path = paths.StateFile;
        if (!File.Exists(path))
        {
            return new AgentState();
        }
        try
        {
            // Only an object is state: `null` (or any other value) would read as "nothing to undo" and lose the undo records.
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), AgentStateJsonContext.Default.AgentState)
                ?? throw new InvalidDataException($"{path} is not readable state (it holds null, not an object); move it aside to start over, which forgets what to undo");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not readable state ({ex.Message}); move it aside to start over, which forgets what to undo", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path} cannot be read ({ex.Message}); nothing is changed until it can", ex);
        }
    }

    /// <summary>Serialized form, for comparing before saving.</summary>
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, AgentStateJsonContext.Default.AgentState);

    /// <summary>Writes the state file atomically (0600: it can hold the bytes of replaced key files).</summary>
    public void Save(HostPaths paths) => AgentDirectory.Write(paths, StateHostPath, ToBytes());

    /// <summary>The state file's host path.</summary>
    public const string StateHostPath = AgentDirectory.HostPath + "/state.json";
}

/// <summary>
/// A file the agent wrote: its owning resource, the base64 bytes it replaced (null: it did not exist) and
/// their mode; or, when what it replaced was a symbolic link, the link's target (put back as a link).
/// </summary>
public sealed record FileRecord(string Owner, string? Original, int? Mode = null, string? LinkTarget = null)
{
    /// <summary>The replaced bytes, or null.</summary>
    public byte[]? OriginalBytes => Original is null ? null : Convert.FromBase64String(Original);
}

/// <summary>A kernel parameter the agent set and the value before.</summary>
public sealed record SysctlRecord(string Owner, string Previous);

/// <summary>A kernel NDP proxy entry the agent added.</summary>
public sealed record KernelProxyRecord(string Owner, string Interface, string Address);

/// <summary>A daemon.json key the agent manages and its JSON before (null when the key was absent).</summary>
public sealed record DaemonKeyRecord(string Owner, string? Previous);

/// <summary>Source-generated JSON for the state file.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(AgentState))]
internal sealed partial class AgentStateJsonContext : JsonSerializerContext;
