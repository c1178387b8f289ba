using Hawser.Agent.Host;
using Hawser.Shared.Spec;

namespace Hawser.Agent.Configuration;

/// <summary>The agent's own settings (<c>/etc/hawser/agent.yaml</c>): what it may write and how it reaches host services.</summary>
public sealed record AgentConfig
{
    /// <summary>Where the agent reads its config unless told otherwise.</summary>
    public const string DefaultPath = "/etc/hawser/agent.yaml";

    /// <summary>Path prefixes a spec may make the agent write (a prefix ending in '/' is a directory; otherwise one file).</summary>
    public IReadOnlyList<string> AllowedPaths { get; init; } = new SpecRules().AllowedPathPrefixes;

    /// <summary>Programs (absolute paths) a spec's reload command may run; none unless listed here.</summary>
    public IReadOnlyList<string> AllowedCommands { get; init; } = [];

    /// <summary>The managed sysctl.d file.</summary>
    public string SysctlFile { get; init; } = "/etc/sysctl.d/60-hawser.conf";

    /// <summary>The managed modules-load.d file.</summary>
    public string ModulesFile { get; init; } = "/etc/modules-load.d/hawser.conf";

    /// <summary>ndppd's config file.</summary>
    public string NdppdConfig { get; init; } = "/etc/ndppd.conf";

    /// <summary>The Docker daemon's config file.</summary>
    public string DockerConfig { get; init; } = "/etc/docker/daemon.json";

    /// <summary>The Docker Engine API socket (a live socket, never under --root).</summary>
    public string DockerSocket { get; init; } = "/var/run/docker.sock";

    /// <summary>Seconds a restarted Docker daemon has to answer /_ping before the agent rolls back.</summary>
    public int DockerStartTimeoutSeconds { get; init; } = 60;

    /// <summary><c>auto</c> (detect), <c>systemd</c>, <c>openrc</c> or <c>none</c>.</summary>
    public string InitSystem { get; init; } = "auto";

    /// <summary>Commands for services by name (docker, ndppd), replacing the init system's.</summary>
    public IReadOnlyDictionary<string, ServiceCommands> Services { get; init; } = new Dictionary<string, ServiceCommands>();

    /// <summary>The spec rules these settings imply.</summary>
    public SpecRules SpecRules => new() { AllowedPathPrefixes = AllowedPaths, AllowedCommands = AllowedCommands };
}
