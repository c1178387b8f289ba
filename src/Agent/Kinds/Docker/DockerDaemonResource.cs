using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hawser.Agent.Reconcile;
using Hawser.Agent.Resources;
using Hawser.Agent.State;
using Hawser.Shared.HostAccess;
using Hawser.Shared.IO;
using Hawser.Shared.Spec.Kinds.Docker;

namespace Hawser.Agent.Kinds.Docker;

/// <summary>
/// The Docker daemon's IPv6 keys in daemon.json, merged in with every other key kept. They are not
/// reloadable, so a change restarts the daemon and is verified on the live bridge network; a daemon
/// that does not come back gets the previous file and another restart, and its own error is reported.
/// </summary>
public sealed class DockerDaemonResource(string configPath, DockerDaemonSpec spec) : IResource
{
    /// <summary>The resource id networks depend on.</summary>
    public const string ResourceId = "docker:daemon";

    /// <summary>The init system's name for the daemon.</summary>
    public const string ServiceName = "docker";

    /// <summary>How long a restarted daemon has to answer /_ping.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <inheritdoc/>
    public string Id => ResourceId;

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    /// <inheritdoc/>
    public async Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var version = await VersionAsync(context, cancellationToken);
        var (wanted, notes) = WantedKeys(version);
        var current = ReadConfig(context);
        var changes = new List<Change>();
        foreach (var (key, value) in wanted)
        {
            if (!JsonNode.DeepEquals(current[key], value))
            {
                changes.Add(new Change($"{configPath} \"{key}\"", current[key]?.ToJsonString(), value?.ToJsonString()));
            }
        }
        if (changes.Count == 0)
        {
            changes.AddRange(await LiveDifferencesAsync(context, cancellationToken));
        }
        return new ResourcePlan { Changes = changes, Warnings = notes };
    }

    /// <inheritdoc/>
    public async Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        var version = await VersionAsync(context, cancellationToken);
        var (wanted, _) = WantedKeys(version);
        var previous = context.ReadFile(configPath);
        var config = ReadConfig(context);
        foreach (var (key, value) in wanted)
        {
            context.State.DaemonKeys.TryAdd(key, new DaemonKeyRecord(Id, config[key]?.ToJsonString()));
            config[key] = value?.DeepClone();
        }
        context.SaveState();
        var content = Serialize(config);
        if (previous is null || !previous.AsSpan().SequenceEqual(content))
        {
            await WriteAndRestartAsync(context, configPath, previous, content, version, StartTimeout, cancellationToken);
        }
        else
        {
            await RestartAsync(context, StartTimeout, cancellationToken);
        }
    }

    /// <summary>Writes daemon.json, validates it where dockerd can, restarts, and rolls back when the daemon does not return.</summary>
    internal static async Task WriteAndRestartAsync(ResourceContext context, string configPath, byte[]? previous, byte[] content,
        Hawser.Agent.Docker.DockerVersion version, TimeSpan startTimeout, CancellationToken cancellationToken)
    {
        // Undo for daemon.json is per key (DaemonKeys), not the whole file, so this write is not remembered as a file.
        var path = context.Area.ForWrite(configPath);
        var mode = AtomicFile.ModeOr(path, FileModes.PublicFile);
        AtomicFile.Write(path, content, mode, noSymlinks: true);
        if (version.Major >= 23)
        {
            var check = await context.Runner.RunAsync(["dockerd", "--validate", "--config-file", path], cancellationToken);
            if (!check.Succeeded)
            {
                Restore(path, previous, mode);
                throw new ResourceException($"dockerd rejected the new daemon.json, which was put back as it was: {new CommandFailedException(check).Message}");
            }
        }
        try
        {
            await RestartAsync(context, startTimeout, cancellationToken);
        }
        catch (ResourceException failure)
        {
            var log = await context.Services.RecentLogAsync(ServiceName, cancellationToken);
            Restore(path, previous, mode);
            var back = false;
            try
            {
                await RestartAsync(context, startTimeout, cancellationToken);
                back = true;
            }
            catch (ResourceException)
            {
            }
            throw new ResourceException(
                $"{failure.Message}; restored the previous daemon.json and restarted: the daemon is {(back ? "running again" : "STILL DOWN")}."
                + (log.Length > 0 ? $" The daemon said:\n{log}" : string.Empty));
        }
    }

    private static void Restore(string path, byte[]? previous, UnixFileMode mode)
    {
        if (previous is null)
        {
            AtomicFile.Delete(path, noSymlinks: true);
        }
        else
        {
            AtomicFile.Write(path, previous, mode, noSymlinks: true);
        }
    }

    private static async Task RestartAsync(ResourceContext context, TimeSpan startTimeout, CancellationToken cancellationToken)
    {
        try
        {
            await context.Services.RestartAsync(ServiceName, cancellationToken);
        }
        catch (CommandFailedException ex)
        {
            throw new ResourceException($"restarting the Docker daemon failed: {ex.Message}", ex);
        }
        var deadline = DateTime.UtcNow + startTimeout;
        DateTime? downSince = null;
        while (DateTime.UtcNow < deadline)
        {
            if (await context.Docker.WaitForPingAsync(TimeSpan.FromMilliseconds(500), cancellationToken))
            {
                return;
            }
            // A daemon that refuses its config exits at once; do not wait the whole timeout for it.
            if (await context.Services.IsActiveAsync(ServiceName, cancellationToken))
            {
                downSince = null;
            }
            else if ((downSince ??= DateTime.UtcNow) < DateTime.UtcNow.AddSeconds(-2))
            {
                throw new ResourceException("the Docker daemon exited after the restart");
            }
        }
        throw new ResourceException($"the Docker daemon did not answer /_ping on {context.Docker.SocketPath} within {startTimeout.TotalSeconds:0} s of the restart");
    }

    /// <summary>The managed keys for this engine version, with the notes on keys the version forced.</summary>
    internal (Dictionary<string, JsonNode?> Keys, List<string> Notes) WantedKeys(Hawser.Agent.Docker.DockerVersion version)
    {
        var keys = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var notes = new List<string>();
        if (spec.Ipv6 is { } ipv6)
        {
            keys["ipv6"] = ipv6;
            if (ipv6 && spec.FixedCidrV6 is null && version.Major < 28)
            {
                throw new ResourceException($"dockerd {version.Version} needs fixedCidrV6 for the default bridge when ipv6 is on (from 28.0 it does not); set docker.daemon.fixedCidrV6");
            }
        }
        if (spec.FixedCidrV6 is { } cidr)
        {
            keys["fixed-cidr-v6"] = cidr.ToString();
        }
        if (spec.Ip6tables is { } ip6tables)
        {
            keys["ip6tables"] = ip6tables;
        }
        if (spec.Experimental is { } experimental)
        {
            keys["experimental"] = experimental;
        }
        if (spec.Ip6tables == true && version.Major < 27)
        {
            if (spec.Experimental == false)
            {
                throw new ResourceException($"dockerd {version.Version} accepts ip6tables only with experimental: true (before 27.0), but the spec sets experimental: false");
            }
            if (spec.Experimental is null)
            {
                keys["experimental"] = true;
                notes.Add($"dockerd {version.Version} needs experimental: true for ip6tables (before 27.0); it is set too");
            }
        }
        if (spec.DefaultAddressPools is { } pools)
        {
            keys["default-address-pools"] = new JsonArray([.. pools.Select(p => (JsonNode?)new JsonObject { ["base"] = p.Base.ToString(), ["size"] = p.Size })]);
        }
        return (keys, notes);
    }

    private async Task<List<Change>> LiveDifferencesAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var changes = new List<Change>();
        var bridge = await context.Docker.InspectNetworkAsync("bridge", cancellationToken);
        if (bridge is null)
        {
            return changes;
        }
        var enabled = bridge["EnableIPv6"]?.GetValue<bool>() ?? false;
        if (spec.Ipv6 is { } ipv6 && enabled != ipv6)
        {
            changes.Add(new Change("running daemon: bridge EnableIPv6", enabled ? "true" : "false", ipv6 ? "true" : "false"));
        }
        if (spec.FixedCidrV6 is { } cidr && spec.Ipv6 != false)
        {
            var subnets = (bridge["IPAM"]?["Config"] as JsonArray ?? []).Select(c => c?["Subnet"]?.GetValue<string>()).OfType<string>().ToList();
            if (!subnets.Any(s => System.Net.IPNetwork.TryParse(s, out var n) && n == cidr))
            {
                changes.Add(new Change("running daemon: bridge IPv6 subnet", subnets.Count == 0 ? null : string.Join(", ", subnets), cidr.ToString()));
            }
        }
        return changes;
    }

    private static Task<Hawser.Agent.Docker.DockerVersion> VersionAsync(ResourceContext context, CancellationToken cancellationToken) =>
        context.Docker.VersionAsync(cancellationToken);

    /// <summary>daemon.json as an object; an empty one when the file is missing.</summary>
    internal JsonObject ReadConfig(ResourceContext context)
    {
        var bytes = context.ReadFile(configPath);
        if (bytes is null || bytes.Length == 0)
        {
            return [];
        }
        try
        {
            return JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip }) as JsonObject
                ?? throw new ResourceException($"{configPath} is not a JSON object; fix or remove it");
        }
        catch (JsonException ex)
        {
            throw new ResourceException($"{configPath} is not valid JSON (line {ex.LineNumber + 1}: {ex.Message}); fix it, the agent will not overwrite it", ex);
        }
    }

    internal static byte[] Serialize(JsonObject config) =>
        Encoding.UTF8.GetBytes(config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
}
