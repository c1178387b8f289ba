using System.Text;
using Hawser.Agent.Reconcile;

namespace Hawser.Agent.Kinds.Sysctls;

/// <summary>
/// The managed sysctl.d file that sets the same keys at boot. It also reads the host's other sysctl
/// files the way systemd-sysctl and procps order them, and warns when one of them would set a managed
/// key to something else after ours, at boot or on every ufw reload.
/// </summary>
public sealed class SysctlFileResource(string hostPath, IReadOnlyDictionary<string, string> values, IReadOnlyList<string> notes) : IResource
{
    private static readonly string[] SysctlDirectories = ["/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"];

    /// <inheritdoc/>
    public string Id => $"file:{hostPath}";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    /// <summary>The file's content: concrete keys in order, as non-systemd hosts do not expand globs.</summary>
    private static byte[] Content(IReadOnlyDictionary<string, string> values)
    {
        var text = new StringBuilder("# Managed by hawser-agent: changes here are overwritten. Edit the spec instead.\n");
        foreach (var (key, value) in values.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(key).Append(" = ").Append(value).Append('\n');
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <inheritdoc/>
    public Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var warnings = OverrideWarnings(context);
        warnings.AddRange(notes);
        var current = context.ReadFile(hostPath);
        var (persisted, left) = Persisted(context, current);
        warnings.AddRange(left.Select(key => persisted.TryGetValue(key, out var kept)
            ? $"{key} keeps {kept} in {hostPath} (the last value set): the new one could not be set live, and a value the kernel refuses is not written for boot"
            : $"{key} is left out of {hostPath}: its live value could not be set, and a key the kernel refuses is not written for boot"));
        var wanted = Content(persisted);
        if (current is not null && current.AsSpan().SequenceEqual(wanted))
        {
            return Task.FromResult(ResourcePlan.Synced(warnings));
        }
        if (current is null)
        {
            return Task.FromResult(new ResourcePlan { Changes = [new Change(hostPath, null, $"{persisted.Count} keys")], Warnings = warnings });
        }
        // Say which keys differ, as a reviewer of the plan would want to see.
        var written = Written(current);
        var changes = persisted.Keys.Union(written.Keys).Order(StringComparer.Ordinal)
            .Where(key => written.GetValueOrDefault(key) != persisted.GetValueOrDefault(key))
            .Select(key => new Change($"{hostPath} {key}", written.GetValueOrDefault(key), persisted.GetValueOrDefault(key)))
            .ToList();
        if (changes.Count == 0)
        {
            changes.Add(new Change(hostPath, $"{current.Length} bytes", $"{wanted.Length} bytes (comments or layout)"));
        }
        return Task.FromResult(new ResourcePlan { Changes = changes, Warnings = warnings });
    }

    /// <inheritdoc/>
    public Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        context.WriteFile(hostPath, Id, Content(Persisted(context, context.ReadFile(hostPath)).Values));
        return Task.CompletedTask;
    }

    /// <summary>
    /// The keys to write for boot: those whose live resource did not fail in this converge, and those that failed (left),
    /// each kept at the value the file holds now when it holds one: a bad new value never costs the last good boot setting.
    /// </summary>
    private (IReadOnlyDictionary<string, string> Values, List<string> Left) Persisted(ResourceContext context, byte[]? current)
    {
        var left = values.Keys.Where(key => context.Failed.Contains($"sysctl:{key}")).Order(StringComparer.Ordinal).ToList();
        if (left.Count == 0)
        {
            return (values, left);
        }
        var written = current is null ? new Dictionary<string, string>(StringComparer.Ordinal) : Written(current);
        var persisted = values.Where(p => !left.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        foreach (var key in left)
        {
            if (written.TryGetValue(key, out var kept))
            {
                persisted[key] = kept;
            }
        }
        return (persisted, left);
    }

    /// <summary>The keys a sysctl file sets (the last line wins, as when it is applied).</summary>
    private static Dictionary<string, string> Written(byte[] content) =>
        Parse(Encoding.UTF8.GetString(content)).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);

    private List<string> OverrideWarnings(ResourceContext context)
    {
        var warnings = new List<string>();
        var ourName = Path.GetFileName(hostPath);
        // systemd-sysctl: one list of basenames across the directories, the first directory wins a
        // name, files apply in basename order, the last one to set a key wins.
        var byName = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var directory in SysctlDirectories)
        {
            var onDisk = context.Area.ForRead(directory);
            if (!Directory.Exists(onDisk))
            {
                continue;
            }
            foreach (var file in Directory.EnumerateFiles(onDisk, "*.conf"))
            {
                byName.TryAdd(Path.GetFileName(file), Path.Join(directory, Path.GetFileName(file)));
            }
        }
        foreach (var (name, path) in byName)
        {
            if (string.CompareOrdinal(name, ourName) > 0)
            {
                Check(path, "at boot, after ours");
            }
        }
        Check("/etc/sysctl.conf", "by `sysctl --system` (procps applies it last)");
        Check("/etc/ufw/sysctl.conf", "on every ufw start and reload");
        return warnings;

        void Check(string path, string when)
        {
            var content = context.ReadFile(path);
            if (content is null)
            {
                return;
            }
            foreach (var (key, value) in Parse(Encoding.UTF8.GetString(content)))
            {
                if (values.TryGetValue(key, out var ours) && SysctlResource.Normalize(ours) != SysctlResource.Normalize(value))
                {
                    warnings.Add($"{path} sets {key} = {value} {when}, overriding {ours}");
                }
            }
        }
    }

    /// <summary>sysctl.conf lines: <c>key = value</c>, dotted or slashed, '#' and ';' comments, '-' prefix.</summary>
    internal static IEnumerable<(string Key, string Value)> Parse(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }
            var key = line[..eq].Trim().TrimStart('-').Replace('/', '.');
            yield return (key, line[(eq + 1)..].Trim());
        }
    }
}
