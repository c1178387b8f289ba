using Hawser.Agent.Host;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Hawser.Agent.Configuration;

/// <summary>Reads agent.yaml; a bad file is an error naming the file, line and column, never a half-read config.</summary>
public static class AgentConfigLoader
{
    /// <summary>The config at <paramref name="path"/>, or the defaults when the file does not exist.</summary>
    public static AgentConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            return new AgentConfig();
        }
        var deserializer = new DeserializerBuilder()
            .WithNamingConvention(CamelCaseNamingConvention.Instance)
            .WithEnforceRequiredMembers()
            // The config's read-only collection types, mapped to concrete ones YamlDotNet can fill.
            .WithTypeMapping<IReadOnlyList<string>, List<string>>()
            .WithTypeMapping<IReadOnlyDictionary<string, ServiceCommands>, Dictionary<string, ServiceCommands>>()
            .Build();
        AgentConfig config;
        try
        {
            config = deserializer.Deserialize<AgentConfig?>(File.ReadAllText(path)) ?? new AgentConfig();
        }
        catch (YamlException ex)
        {
            var reason = ex.InnerException?.Message ?? ex.Message;
            throw new InvalidDataException($"{path}:{ex.Start.Line}:{ex.Start.Column}: {reason}", ex);
        }
        var errors = Validate(config).Select(e => $"{path}: {e}").ToList();
        return errors.Count == 0 ? config : throw new InvalidDataException(string.Join("\n", errors));
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
        if (config.DockerStartTimeoutSeconds is < 1 or > 3600)
        {
            yield return $"dockerStartTimeoutSeconds {config.DockerStartTimeoutSeconds} must be 1-3600";
        }
    }

    /// <summary>The service manager this config describes.</summary>
    public static ServiceManager CreateServiceManager(AgentConfig config, ICommandRunner runner) =>
        new(runner, config.InitSystem == "auto" ? ServiceManager.DetectInitSystem() : config.InitSystem, config.Services);
}
