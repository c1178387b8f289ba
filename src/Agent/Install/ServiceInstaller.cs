using System.Text;
using System.Text.Json;
using Hawser.Agent.Host;
using Hawser.Shared.IO;

namespace Hawser.Agent.Install;

/// <summary>What <c>hawser-agent install</c> is told.</summary>
public sealed record InstallOptions
{
    /// <summary>The controller URL.</summary>
    public required Uri Controller { get; init; }

    /// <summary>This node's name.</summary>
    public required string Node { get; init; }

    /// <summary>Join token (kept only in the 0600 settings file until the agent has enrolled).</summary>
    public string? JoinToken { get; init; }

    /// <summary>The controller CA's pin.</summary>
    public string? CaHash { get; init; }

    /// <summary>systemd or openrc.</summary>
    public required string InitSystem { get; init; }

    /// <summary>The agent binary to copy to /usr/local/bin.</summary>
    public required string Binary { get; init; }
}

/// <summary>
/// Lays the agent down as a service: binary, agent.yaml, the unit or OpenRC script and its settings,
/// then enables and starts it. It records what it created in /var/lib/hawser/install.json, so
/// uninstall removes exactly that and leaves the host as it was.
/// </summary>
public sealed class ServiceInstaller(HostPaths paths, ICommandRunner runner, bool printOnly, TextWriter output)
{
    private const string Manifest = "/var/lib/hawser/install.json";
    private static readonly string[] StateDirectories = ["/var/lib/hawser", "/etc/hawser"];
    private const UnixFileMode Executable = (UnixFileMode)0b111_101_101;
    private const UnixFileMode Public = (UnixFileMode)0b110_100_100;
    private const UnixFileMode Private = (UnixFileMode)0b110_000_000;

    /// <summary>Installs, enables and starts; returns the files written.</summary>
    public async Task<IReadOnlyList<string>> InstallAsync(InstallOptions options, CancellationToken cancellationToken)
    {
        var created = new List<string>();
        var directories = new List<string>();
        // Records the file and the directories its write will create, before writing.
        void Track(string hostPath)
        {
            for (var dir = Path.GetDirectoryName(hostPath)!; dir != "/" && !Directory.Exists(paths.Map(dir)); dir = Path.GetDirectoryName(dir)!)
            {
                directories.Add(dir);
            }
            if (!File.Exists(paths.Map(hostPath)))
            {
                created.Add(hostPath);
            }
        }
        void Write(string hostPath, byte[] content, UnixFileMode mode, bool tracked = false)
        {
            if (!tracked)
            {
                Track(hostPath);
            }
            AtomicFile.Write(paths.Map(hostPath), content, mode);
            output.WriteLine($"wrote {hostPath}");
        }
        Write("/usr/local/bin/hawser-agent", File.ReadAllBytes(options.Binary), Executable);
        if (!File.Exists(paths.Map("/etc/hawser/agent.yaml")))
        {
            Write("/etc/hawser/agent.yaml", Encoding.UTF8.GetBytes(
                "# hawser-agent's own settings; every key is optional (see the README, \"agent.yaml\").\n# allowedCommands: [/usr/sbin/nginx]\n"), Public);
        }
        var arguments = string.Join(' ', new[] { options.JoinToken is null ? null : $"--join-token {options.JoinToken}", options.CaHash is null ? null : $"--ca-hash {options.CaHash}" }.OfType<string>());
        string[][] commands;
        if (options.InitSystem == "systemd")
        {
            Write("/etc/systemd/system/hawser-agent.service", Resource("hawser-agent.service"), Public);
            Write("/etc/default/hawser-agent", Encoding.UTF8.GetBytes(
                $"HAWSER_CONTROLLER={options.Controller}\nHAWSER_NODE={options.Node}\nHAWSER_AGENT_ARGS=\"{arguments}\"\n"), Private);
            commands = [["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", "hawser-agent"]];
        }
        else
        {
            Write("/etc/init.d/hawser-agent", Resource("hawser-agent.openrc"), Executable);
            Write("/etc/conf.d/hawser-agent", Encoding.UTF8.GetBytes(
                $"HAWSER_CONTROLLER=\"{options.Controller}\"\nHAWSER_NODE=\"{options.Node}\"\nHAWSER_AGENT_ARGS=\"{arguments}\"\n"), Private);
            commands = [["rc-update", "add", "hawser-agent", "default"], ["rc-service", "hawser-agent", "start"]];
        }
        // The manifest lists itself and its own directories, so uninstall removes those too.
        Track(Manifest);
        var manifest = new InstallManifest(options.InitSystem, created, directories.Distinct().ToList());
        Write(Manifest, JsonSerializer.SerializeToUtf8Bytes(manifest, InstallJsonContext.Default.InstallManifest), Private, tracked: true);
        await RunAsync(commands, cancellationToken);
        return created;
    }

    /// <summary>Stops, disables and removes what install created; with <paramref name="purge"/> also the agent's state.</summary>
    public async Task UninstallAsync(bool purge, CancellationToken cancellationToken)
    {
        var manifestPath = paths.Map(Manifest);
        if (!File.Exists(manifestPath))
        {
            throw new InvalidOperationException($"{Manifest} is missing: nothing here was installed by `hawser-agent install`");
        }
        var manifest = JsonSerializer.Deserialize(File.ReadAllBytes(manifestPath), InstallJsonContext.Default.InstallManifest)!;
        await RunAsync(manifest.InitSystem == "systemd"
            ? [["systemctl", "disable", "--now", "hawser-agent"], ["systemctl", "daemon-reload"]]
            : [["rc-service", "hawser-agent", "stop"], ["rc-update", "del", "hawser-agent", "default"]], cancellationToken);
        foreach (var file in manifest.Files.Append(Manifest).Distinct())
        {
            AtomicFile.Delete(paths.Map(file));
            output.WriteLine($"removed {file}");
        }
        if (purge)
        {
            foreach (var directory in StateDirectories.Select(paths.Map).Where(Directory.Exists))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        // Directories install created, deepest first, when nothing else lives in them now.
        foreach (var directory in manifest.Directories.OrderByDescending(d => d.Length).Select(paths.Map))
        {
            if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
            {
                Directory.Delete(directory);
            }
        }
    }

    private async Task RunAsync(IEnumerable<string[]> commands, CancellationToken cancellationToken)
    {
        foreach (var argv in commands)
        {
            if (printOnly)
            {
                output.WriteLine($"would run: {string.Join(' ', argv)}");
                continue;
            }
            output.WriteLine($"running: {string.Join(' ', argv)}");
            (await runner.RunAsync(argv, cancellationToken)).EnsureSuccess();
        }
    }

    private static byte[] Resource(string name)
    {
        using var stream = typeof(ServiceInstaller).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"the {name} resource is not built in");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

/// <summary>What install created, for uninstall.</summary>
public sealed record InstallManifest(string InitSystem, IReadOnlyList<string> Files, IReadOnlyList<string> Directories);

/// <summary>Source-generated JSON for the install manifest.</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(InstallManifest))]
internal sealed partial class InstallJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
