using Hawser.Agent.HostServices;
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

    /// <summary>node_exporter's textfile collector directory, where the agent writes <c>hawser.prom</c>; null: no metrics file.</summary>
    public string? TextfileCollector { get; init; }

    /// <summary>
    /// The Ed25519 public key (base64 of its 32 bytes) agent releases must be signed with, pinned here; null: the key built into
    /// this binary by build-release.sh --sign-key (a build without one takes no release).
    /// </summary>
    public string? ReleaseKey { get; init; }

    /// <summary>The release key this agent trusts: the pinned one, else the one built in, else null.</summary>
    public Shared.Releases.ReleaseKey? TrustedReleaseKey => ReleaseKey is { } pinned ? Shared.Releases.ReleaseKey.Parse(pinned) : Shared.Releases.ReleaseKey.BuiltIn;

    /// <summary>How the agent answers ACME HTTP-01 challenges the controller shares.</summary>
    public AcmeChallengeConfig AcmeChallenge { get; init; } = new();

    /// <summary>The spec rules these settings imply.</summary>
    public SpecRules SpecRules => new() { AllowedPathPrefixes = AllowedPaths, AllowedCommands = AllowedCommands };
}

/// <summary>The agent's HTTP-01 answering (agent.yaml <c>acmeChallenge:</c>).</summary>
public sealed record AcmeChallengeConfig
{
    /// <summary>Where the agent's own responder listens (IP:PORT; <c>none</c> turns it off, e.g. when a web server has port 80 and <see cref="Webroot"/> is used).</summary>
    public string Listen { get; init; } = "[::]:80";

    /// <summary>A web server's document root to also write token files into (its .well-known/acme-challenge/), or null.</summary>
    public string? Webroot { get; init; }

    /// <summary>Answer tokens never pushed as TOKEN.THUMBPRINT (a host that missed the push still validates).</summary>
    public bool StatelessFallback { get; init; } = true;
}
