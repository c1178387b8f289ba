using Hawser.Agent.HostServices;
using Hawser.Shared.Configuration;
using Hawser.Shared.HostAccess;
using Hawser.Shared.ServiceHosting;

namespace Hawser.Agent.Configuration;

/// <summary>Reads agent.yaml; a bad file is an error naming the file, line and column, never a half-read config.</summary>
public static class AgentConfigLoader
{
    /// <summary>
    /// The config at <paramref name="path"/>. Fails closed: the defaults apply only when no file was named
    /// (<paramref name="named"/> false, the default path) and nothing is there; a named file that is missing, anything
    /// there that is not a regular file, and a file that cannot be read are errors naming it, never the defaults
    /// (which allow more than an operator's narrowed allowedPaths).
    /// </summary>
    public static AgentConfig Load(string path, bool named = false)
    {
        if (Directory.Exists(path))
        {
            throw new InvalidDataException($"{path}: is a directory, not the agent's config file");
        }
        if (!File.Exists(path))
        {
            if (new FileInfo(path) is { LinkTarget: { } target })
            {
                throw new InvalidDataException($"{path}: is a link to {target}, which does not exist");
            }
            return named ? throw new InvalidDataException($"{path}: no such file (named with --config; without --config the agent reads {AgentConfig.DefaultPath} when it exists)")
                : new AgentConfig();
        }
        YamlSettingsFile file;
        try
        {
            file = YamlSettingsFile.Load(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException(new FileInfo(path).LinkTarget is { } target && ex is FileNotFoundException or DirectoryNotFoundException
                ? $"{path}: is a link to {target}, which does not exist"
                : $"{path}: cannot be read: {ex.Message}", ex);
        }
        var root = file.Root;
        root.AllowOnly("allowedPaths", "allowedCommands", "sysctlFile", "modulesFile", "ndppdConfig", "dockerConfig", "dockerSocket",
            "dockerStartTimeoutSeconds", "initSystem", "services", "acmeChallenge", "textfileCollector", "releaseKey");
        var defaults = new AgentConfig();
        var config = new AgentConfig
        {
            AllowedPaths = root.StringList("allowedPaths") ?? defaults.AllowedPaths,
            AllowedCommands = root.StringList("allowedCommands") ?? defaults.AllowedCommands,
            SysctlFile = root.Text("sysctlFile") ?? defaults.SysctlFile,
            ModulesFile = root.Text("modulesFile") ?? defaults.ModulesFile,
            NdppdConfig = root.Text("ndppdConfig") ?? defaults.NdppdConfig,
            DockerConfig = root.Text("dockerConfig") ?? defaults.DockerConfig,
            DockerSocket = root.Text("dockerSocket") ?? defaults.DockerSocket,
            DockerStartTimeoutSeconds = root.WholeNumber("dockerStartTimeoutSeconds", 1, 3600) ?? defaults.DockerStartTimeoutSeconds,
            InitSystem = root.Text("initSystem") ?? defaults.InitSystem,
            Services = (root.Maps("services") ?? []).ToDictionary(s => s.Name, s => ReadService(s.Map)),
            AcmeChallenge = root.Section("acmeChallenge") is { } challenge ? ReadChallenge(challenge) : defaults.AcmeChallenge,
            TextfileCollector = root.Text("textfileCollector"),
            ReleaseKey = root.Text("releaseKey"),
        };
        file.ThrowIfInvalid();
        var errors = Validate(config).Select(e => $"{path}: {e}").ToList();
        return errors.Count == 0 ? config : throw new InvalidDataException(string.Join("\n", errors));
    }

    private static AcmeChallengeConfig ReadChallenge(YamlSettingsMap map)
    {
        map.AllowOnly("listen", "webroot", "statelessFallback");
        var defaults = new AcmeChallengeConfig();
        return new AcmeChallengeConfig
        {
            Listen = map.Text("listen") ?? defaults.Listen,
            Webroot = map.Text("webroot"),
            StatelessFallback = map.Flag("statelessFallback") ?? defaults.StatelessFallback,
        };
    }

    private static ServiceCommands ReadService(YamlSettingsMap map)
    {
        map.AllowOnly("restart", "stop", "isActive", "logs");
        return new ServiceCommands
        {
            Restart = map.StringList("restart") ?? [],
            Stop = map.StringList("stop") ?? [],
            IsActive = map.StringList("isActive") ?? [],
            Logs = map.StringList("logs"),
        };
    }

    private static IEnumerable<string> Validate(AgentConfig config)
    {
        if (config.InitSystem is not ("auto" or "systemd" or "openrc" or "none"))
        {
            yield return $"initSystem '{config.InitSystem}' must be auto, systemd, openrc or none";
        }
        foreach (var prefix in config.AllowedPaths.Where(p => !p.StartsWith('/') || p.Split('/').Any(s => s is "." or "..")))
        {
            yield return $"allowedPaths entry '{prefix}' must be an absolute path without '.' or '..'";
        }
        foreach (var program in config.AllowedCommands.Where(p => !p.StartsWith('/')))
        {
            yield return $"allowedCommands entry '{program}' must be an absolute path";
        }
        foreach (var (name, value) in new[] { ("sysctlFile", config.SysctlFile), ("modulesFile", config.ModulesFile), ("ndppdConfig", config.NdppdConfig), ("dockerConfig", config.DockerConfig), ("dockerSocket", config.DockerSocket) })
        {
            if (!value.StartsWith('/'))
            {
                yield return $"{name} '{value}' must be an absolute path";
            }
        }
        foreach (var (name, commands) in config.Services)
        {
            if (commands.Restart.Count == 0 || commands.Stop.Count == 0 || commands.IsActive.Count == 0)
            {
                yield return $"services.{name} needs non-empty restart, stop and isActive argv lists";
            }
        }
        if (config.AcmeChallenge.Listen != "none" && !System.Net.IPEndPoint.TryParse(config.AcmeChallenge.Listen, out _))
        {
            yield return $"acmeChallenge.listen '{config.AcmeChallenge.Listen}' must be IP:PORT, e.g. [::]:80 or 0.0.0.0:80, or none";
        }
        if (config.TextfileCollector is { } textfile && (!textfile.StartsWith('/') || textfile.Split('/').Any(s => s is "." or "..")))
        {
            yield return $"textfileCollector '{textfile}' must be an absolute path without '.' or '..' (node_exporter's --collector.textfile.directory, e.g. /var/lib/prometheus/node-exporter)";
        }
        if (config.ReleaseKey is { } key)
        {
            string? problem = null;
            try
            {
                Shared.Releases.ReleaseKey.Parse(key);
            }
            catch (FormatException ex)
            {
                problem = ex.Message;
            }
            if (problem is not null)
            {
                yield return $"releaseKey: {problem}";
            }
        }
        if (config.AcmeChallenge.Webroot is { } webroot && !webroot.StartsWith('/'))
        {
            yield return $"acmeChallenge.webroot '{webroot}' must be an absolute path";
        }
    }

    /// <summary>The service manager this config describes.</summary>
    public static ServiceManager CreateServiceManager(AgentConfig config, ICommandRunner runner) =>
        new(runner, config.InitSystem == "auto" ? InitSystem.Detect() : config.InitSystem, config.Services);
}
