using Hawser.Agent.Reconcile;
using Hawser.Shared.IO;

namespace Hawser.Agent.Kinds.Sysctls;

/// <summary>
/// One live kernel parameter in /proc/sys. Values compare with runs of whitespace folded, because the
/// kernel prints multi-value keys with tabs. A key this kernel or namespace does not have fails alone.
/// </summary>
public sealed class SysctlResource(string key, string value, IReadOnlyList<string> dependsOn) : IResource
{
    /// <summary>The dotted key.</summary>
    public string Key { get; } = key;

    /// <summary>The wanted value.</summary>
    public string Value { get; } = value;

    /// <inheritdoc/>
    public string Id => $"sysctl:{Key}";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn { get; } = dependsOn;

    /// <inheritdoc/>
    public Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var current = Read(context);
        if (Normalize(current) == Normalize(Value))
        {
            return Task.FromResult(ResourcePlan.Synced());
        }
        CheckType(current);
        return Task.FromResult(new ResourcePlan { Changes = [new Change(context.Paths.SysctlFile(Key), current, Value)] });
    }

    /// <summary>
    /// What a dry run can know without writing: a key the kernel holds as numbers takes numbers, so
    /// "ten minutes" fails the plan instead of passing as a change the kernel would refuse.
    /// </summary>
    private void CheckType(string current)
    {
        static bool Numbers(string text) => Normalize(text).Split(' ').All(t => long.TryParse(t, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _));
        if (Normalize(current).Length > 0 && Numbers(current) && !Numbers(Value))
        {
            var count = Normalize(current).Split(' ').Length;
            throw new ResourceException($"{Key} takes {(count == 1 ? "a whole number" : $"whole numbers ({count} here)")}; the kernel holds '{Normalize(current)}', the spec says '{Value}'");
        }
    }

    /// <inheritdoc/>
    public Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        var current = Read(context);
        context.State.RememberSysctl(Key, Id, current);
        context.SaveState();
        Write(context, Key, Value);
        return Task.CompletedTask;
    }

    /// <summary>Writes a live value, turning the kernel's terse errors into reasons.</summary>
    internal static void Write(ResourceContext context, string key, string value)
    {
        var path = context.Paths.SysctlFile(key);
        try
        {
            // From where /proc/sys really is (a test's stand-in may be reached through a link), no link followed below it.
            var onDisk = Path.Join(RealPath.Of(context.Paths.ProcSys) ?? context.Paths.ProcSys, Path.GetRelativePath(context.Paths.ProcSys, path));
            AtomicFile.WriteInPlace(onDisk, System.Text.Encoding.ASCII.GetBytes(value + "\n"), noSymlinks: true);
        }
        catch (IOException ex) when (key == "net.ipv4.tcp_congestion_control")
        {
            var available = File.ReadAllText(context.Paths.SysctlFile("net.ipv4.tcp_available_congestion_control")).Trim();
            throw new ResourceException($"the kernel refused {key}={value} ({ex.Message}); available here: {available}; the module tcp_{value} is not loaded", ex);
        }
        catch (IOException ex)
        {
            throw new ResourceException($"the kernel refused {key}={value} ({path}: {ex.Message})", ex);
        }
    }

    private string Read(ResourceContext context)
    {
        var path = context.Paths.SysctlFile(Key);
        if (!File.Exists(path) && InterfaceOf(Key) is { } iface && !Directory.Exists(Path.GetDirectoryName(path)))
        {
            throw new ResourceException($"{Key}: interface {iface} does not exist here");
        }
        if (!File.Exists(path))
        {
            throw new ResourceException(Key.StartsWith("net.core.", StringComparison.Ordinal) || Key.StartsWith("net.ipv4.tcp_", StringComparison.Ordinal)
                ? $"{Key} does not exist here ({path} is missing); some net.* keys are global and not visible inside a network namespace"
                : $"{Key} does not exist here ({path} is missing)");
        }
        return File.ReadAllText(path).TrimEnd('\n');
    }

    /// <summary>The interface of a per-interface key (<c>net.ipv6.conf.ens3.proxy_ndp</c>), or null.</summary>
    private static string? InterfaceOf(string key)
    {
        var parts = key.Split('.');
        return parts.Length == 5 && parts[0] == "net" && parts[2] is "conf" or "neigh" && parts[3] is not ("all" or "default") ? parts[3] : null;
    }

    /// <summary>Folds whitespace runs, as the kernel prints tabs where a spec writes spaces.</summary>
    internal static string Normalize(string value) =>
        string.Join(' ', value.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries));
}
