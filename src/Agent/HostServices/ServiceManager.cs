using Hawser.Shared.HostAccess;

namespace Hawser.Agent.HostServices;

/// <summary>How the agent drives one host service; each argv is run without a shell.</summary>
public sealed record ServiceCommands
{
    /// <summary>Restarts (or starts) the service.</summary>
    public required IReadOnlyList<string> Restart { get; init; }

    /// <summary>Stops the service.</summary>
    public required IReadOnlyList<string> Stop { get; init; }

    /// <summary>Exits 0 when the service runs.</summary>
    public required IReadOnlyList<string> IsActive { get; init; }

    /// <summary>Prints the service's recent log, quoted when it fails to come back.</summary>
    public IReadOnlyList<string>? Logs { get; init; }
}

/// <summary>The agent has no way to manage a service on this host.</summary>
public sealed class ServiceUnavailableException(string message) : Exception(message);

/// <summary>Starts, stops and checks host services through the host's init system, or commands the agent's config names.</summary>
public sealed class ServiceManager(ICommandRunner runner, string initSystem, IReadOnlyDictionary<string, ServiceCommands> overrides)
{
    /// <summary>The commands used for <paramref name="service"/>.</summary>
    public ServiceCommands CommandsFor(string service) => overrides.TryGetValue(service, out var configured) ? configured : initSystem switch
    {
        "systemd" => new ServiceCommands
        {
            Restart = ["systemctl", "restart", service],
            Stop = ["systemctl", "stop", service],
            IsActive = ["systemctl", "is-active", "--quiet", service],
            Logs = ["journalctl", "-u", service, "-n", "20", "--no-pager"],
        },
        "openrc" => new ServiceCommands
        {
            Restart = ["rc-service", service, "restart"],
            Stop = ["rc-service", service, "stop"],
            IsActive = ["rc-service", service, "status"],
            Logs = ["tail", "-n", "20", $"/var/log/{service}.log"],
        },
        _ => throw new ServiceUnavailableException(
            $"no init system found (neither systemd nor OpenRC) to manage '{service}'; set services.{service} in the agent's config"),
    };

    /// <summary>Restarts the service; throws with the command's output when it fails.</summary>
    public async Task RestartAsync(string service, CancellationToken cancellationToken) =>
        (await runner.RunAsync(CommandsFor(service).Restart, cancellationToken)).EnsureSuccess();

    /// <summary>Stops the service.</summary>
    public async Task StopAsync(string service, CancellationToken cancellationToken) =>
        (await runner.RunAsync(CommandsFor(service).Stop, cancellationToken)).EnsureSuccess();

    /// <summary>True when the service runs.</summary>
    public async Task<bool> IsActiveAsync(string service, CancellationToken cancellationToken) =>
        (await runner.RunAsync(CommandsFor(service).IsActive, cancellationToken)).Succeeded;

    /// <summary>The service's recent log lines, or an empty string when there is no way to read them.</summary>
    public async Task<string> RecentLogAsync(string service, CancellationToken cancellationToken)
    {
        if (CommandsFor(service).Logs is not { } logs)
        {
            return string.Empty;
        }
        var result = await runner.RunAsync(logs, cancellationToken);
        return (result.StandardOutput + result.StandardError).Trim();
    }
}
