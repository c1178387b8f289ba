using System.Text;
using System.Text.Json;
using Hawser.Shared.HostAccess;
using Hawser.Shared.IO;

namespace Hawser.Shared.ServiceHosting;

/// <summary>A file a service install lays down besides the binary, the unit or script and the settings.</summary>
/// <param name="Path">Host path.</param>
/// <param name="Content">The bytes to write.</param>
/// <param name="Mode">File mode.</param>
/// <param name="KeepExisting">Leave a file the operator already has (their config) untouched.</param>
public sealed record InstalledFile(string Path, byte[] Content, UnixFileMode Mode, bool KeepExisting = false);

/// <summary>What one binary needs to run as a systemd or OpenRC service.</summary>
public sealed record ServiceDefinition
{
    /// <summary>The service's name: the unit is NAME.service, the script /etc/init.d/NAME, the binary /usr/local/bin/NAME.</summary>
    public required string Name { get; init; }

    /// <summary>The binary to copy to /usr/local/bin.</summary>
    public required string Binary { get; init; }

    /// <summary><c>systemd</c> or <c>openrc</c>.</summary>
    public required string InitSystem { get; init; }

    /// <summary>The systemd unit (packaging/systemd/NAME.service).</summary>
    public required byte[] SystemdUnit { get; init; }

    /// <summary>The OpenRC script (packaging/openrc/NAME).</summary>
    public required byte[] OpenRcScript { get; init; }

    /// <summary>Settings the unit or script reads (/etc/default/NAME or /etc/conf.d/NAME, 0600).</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; }

    /// <summary>Further files, e.g. the service's own config.</summary>
    public IReadOnlyList<InstalledFile> Files { get; init; } = [];

    /// <summary>Calls to make after the files are in place and before the service starts (e.g. create its user).</summary>
    public IReadOnlyList<string[]> BeforeStart { get; init; } = [];

    /// <summary>Directories the caller made before install (e.g. the parents of a data directory), removed by uninstall when empty.</summary>
    public IReadOnlyList<string> CreatedDirectories { get; init; } = [];

    /// <summary>Where the record of what was installed is kept; uninstall reads it.</summary>
    public required string Manifest { get; init; }
}

/// <summary>
/// Lays a binary down as a service: binary, its files, the unit or OpenRC script and its settings,
/// then enables and starts it. It records what it created in the manifest, so uninstall removes
/// exactly that and leaves the host as it was. Under a test root the service-manager calls are
/// printed, not run.
/// </summary>
public sealed class ServiceInstaller(HostPaths paths, ICommandRunner runner, bool printOnly, TextWriter output)
{
    private const UnixFileMode Executable = (UnixFileMode)0b111_101_101;
    private const UnixFileMode Public = (UnixFileMode)0b110_100_100;
    private const UnixFileMode Private = (UnixFileMode)0b110_000_000;

    /// <summary>True when service-manager calls are printed instead of run.</summary>
    public bool PrintOnly => printOnly;

    /// <summary>Installs, enables and starts; returns the host paths it created.</summary>
    public async Task<IReadOnlyList<string>> InstallAsync(ServiceDefinition service, CancellationToken cancellationToken)
    {
        var settings = FormatSettings(service.Settings);
        // A reinstall keeps what the first install created on record, or uninstall would forget it.
        var previous = File.Exists(paths.Map(service.Manifest))
            ? JsonSerializer.Deserialize(File.ReadAllBytes(paths.Map(service.Manifest)), InstallJsonContext.Default.InstallManifest)
            : null;
        var created = new List<string>(previous?.Files ?? []);
        var directories = new List<string>([.. previous?.Directories ?? [], .. service.CreatedDirectories]);
        // Records the file and the directories its write will create, before writing.
        void Track(string hostPath)
        {
            directories.AddRange(MissingParents(hostPath));
            if (!File.Exists(paths.Map(hostPath)) && !created.Contains(hostPath))
            {
                created.Add(hostPath);
            }
        }
        void Write(string hostPath, byte[] content, UnixFileMode mode)
        {
            Track(hostPath);
            AtomicFile.Write(paths.Map(hostPath), content, mode);
            output.WriteLine($"wrote {hostPath}");
        }
        Write($"/usr/local/bin/{service.Name}", File.ReadAllBytes(service.Binary), Executable);
        foreach (var file in service.Files.Where(f => !f.KeepExisting || !File.Exists(paths.Map(f.Path))))
        {
            Write(file.Path, file.Content, file.Mode);
        }
        string[][] start;
        if (service.InitSystem == "systemd")
        {
            Write($"/etc/systemd/system/{service.Name}.service", service.SystemdUnit, Public);
            Write($"/etc/default/{service.Name}", settings, Private);
            start = [["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", service.Name]];
        }
        else
        {
            Write($"/etc/init.d/{service.Name}", service.OpenRcScript, Executable);
            Write($"/etc/conf.d/{service.Name}", settings, Private);
            start = [["rc-update", "add", service.Name, "default"], ["rc-service", service.Name, "start"]];
        }
        // The manifest lists itself and its own directories, so uninstall removes those too.
        Track(service.Manifest);
        var manifest = new InstallManifest(service.Name, service.InitSystem, created.Distinct().ToList(), directories.Distinct().ToList());
        AtomicFile.Write(paths.Map(service.Manifest), JsonSerializer.SerializeToUtf8Bytes(manifest, InstallJsonContext.Default.InstallManifest), Private);
        await RunAsync([.. service.BeforeStart, .. start], cancellationToken);
        return created;
    }

    /// <summary>The host directories above <paramref name="hostPath"/> that do not exist yet, deepest first.</summary>
    public IReadOnlyList<string> MissingParents(string hostPath)
    {
        var missing = new List<string>();
        for (var dir = Path.GetDirectoryName(hostPath)!; dir != "/" && !Directory.Exists(paths.Map(dir)); dir = Path.GetDirectoryName(dir)!)
        {
            missing.Add(dir);
        }
        return missing;
    }

    /// <summary>Stops, disables and removes what install created; <paramref name="purge"/> directories go too (state, config).</summary>
    public async Task UninstallAsync(string manifestPath, IReadOnlyList<string> purge, CancellationToken cancellationToken)
    {
        var onDisk = paths.Map(manifestPath);
        if (!File.Exists(onDisk))
        {
            throw new InvalidOperationException($"{manifestPath} is missing: nothing here was installed by `install`");
        }
        var manifest = JsonSerializer.Deserialize(File.ReadAllBytes(onDisk), InstallJsonContext.Default.InstallManifest)
            ?? throw new InvalidOperationException($"{manifestPath} is empty");
        await RunAsync(manifest.InitSystem == "systemd"
            ? [["systemctl", "disable", "--now", manifest.Name], ["systemctl", "daemon-reload"]]
            : [["rc-service", manifest.Name, "stop"], ["rc-update", "del", manifest.Name, "default"]], cancellationToken);
        foreach (var file in manifest.Files.Append(manifestPath).Distinct())
        {
            AtomicFile.Delete(paths.Map(file));
            output.WriteLine($"removed {file}");
        }
        foreach (var directory in purge.Where(d => Directory.Exists(paths.Map(d))))
        {
            Directory.Delete(paths.Map(directory), recursive: true);
            output.WriteLine($"purged {directory}");
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

    /// <summary>
    /// After a start: polls <paramref name="isUp"/> every 250 ms until it holds. When the service stops first, or
    /// <paramref name="wait"/> runs out, prints why and the service's recent log, and returns false.
    /// </summary>
    public async Task<bool> WaitUntilAsync(string name, string initSystem, string openRcLog, TimeSpan wait, Func<Task<bool>> isUp,
        (string Waiting, string Stopped, string TimedOut) text, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + wait;
        output.WriteLine($"waiting up to {wait.TotalSeconds:0} s {text.Waiting}");
        while (!await isUp())
        {
            var stopped = await HasStoppedAsync(name, initSystem, cancellationToken);
            if (stopped || DateTime.UtcNow > deadline)
            {
                output.WriteLine(stopped ? text.Stopped : text.TimedOut);
                output.WriteLine(await RecentLogAsync(name, initSystem, openRcLog, cancellationToken));
                return false;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
        return true;
    }

    /// <summary>True when the service manager reports the service stopped or failed (not when it is starting or restarting).</summary>
    public async Task<bool> HasStoppedAsync(string name, string initSystem, CancellationToken cancellationToken)
    {
        var result = initSystem == "systemd"
            ? await runner.RunAsync(["systemctl", "is-failed", "--quiet", name], cancellationToken)
            : await runner.RunAsync(["rc-service", name, "status"], cancellationToken);
        return initSystem == "systemd" ? result.Succeeded : !result.Succeeded;
    }

    /// <summary>The service's last log lines, for an operator whose install did not come up.</summary>
    public async Task<string> RecentLogAsync(string name, string initSystem, string openRcLog, CancellationToken cancellationToken)
    {
        if (initSystem == "systemd")
        {
            var journal = await runner.RunAsync(["journalctl", "--unit", name, "--lines", "20", "--no-pager"], cancellationToken);
            return $"journalctl --unit {name}:\n{journal.StandardOutput.TrimEnd()}";
        }
        var log = paths.Map(openRcLog);
        return File.Exists(log)
            ? $"{openRcLog}:\n{string.Join('\n', File.ReadLines(log).TakeLast(20))}"
            : $"{openRcLog} does not exist";
    }

    /// <summary>Runs each call, or prints it under a test root.</summary>
    public async Task RunAsync(IEnumerable<string[]> commands, CancellationToken cancellationToken)
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

    /// <summary>
    /// KEY="value" lines, which both systemd's EnvironmentFile and OpenRC's sourced conf.d read the same way.
    /// Values that would need escaping in either are refused rather than half-quoted.
    /// </summary>
    private static byte[] FormatSettings(IReadOnlyList<KeyValuePair<string, string>> settings)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in settings)
        {
            if (value.IndexOfAny(['"', '\\', '$', '`', '\n', '\r']) >= 0)
            {
                throw new ArgumentException($"the setting {key} '{value}' contains a quote, backslash, '$', '`' or line break");
            }
            text.Append(key).Append("=\"").Append(value).Append("\"\n");
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}

/// <summary>What install created, for uninstall.</summary>
public sealed record InstallManifest(string Name, string InitSystem, IReadOnlyList<string> Files, IReadOnlyList<string> Directories);

/// <summary>Source-generated JSON for the install manifest.</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(InstallManifest))]
internal sealed partial class InstallJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
