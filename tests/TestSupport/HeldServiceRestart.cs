namespace Hawser.TestSupport;

/// <summary>
/// A service restart (agent.yaml <c>services:</c>) that starts, says so with a file, and then holds until
/// the test releases it: a converge held inside a slow daemon restart, for as long as the test needs,
/// without any fixed sleep.
/// </summary>
public sealed class HeldServiceRestart(string directory)
{
    private readonly string _held = Path.Combine(directory, "restart-held");
    private readonly string _release = Path.Combine(directory, "restart-release");

    /// <summary>agent.yaml lines that make <paramref name="service"/>'s restart hold (initSystem none; stop and isActive succeed).</summary>
    public string AgentYaml(string service) => $"""
        initSystem: none
        services:
          {service}:
            restart: [/bin/sh, -c, "touch {_held}; while [ ! -e {_release} ]; do sleep 0.05; done"]
            stop: [/bin/true]
            isActive: [/bin/true]

        """;

    /// <summary>True while a restart has started and not been released.</summary>
    public bool IsHeld => File.Exists(_held) && !File.Exists(_release);

    /// <summary>Waits until the restart has started.</summary>
    public async Task WaitUntilHeldAsync(Func<string> diagnostics)
    {
        if (!await Poll.UntilAsync(() => File.Exists(_held), TimeSpan.FromSeconds(60)))
        {
            throw new AssertFailedException("the restart never started\n" + diagnostics());
        }
    }

    /// <summary>Lets the restart finish.</summary>
    public void Release() => File.WriteAllText(_release, "");
}
