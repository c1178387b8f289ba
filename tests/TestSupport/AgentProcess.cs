using System.Diagnostics;

namespace Hawser.TestSupport;

/// <summary>A real <c>hawser-agent run</c> in its own namespace with its own root, its output collected.</summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ProcessOutput _output;

    private AgentProcess(Process process, string node, AgentHost host)
    {
        _process = process;
        Node = node;
        Host = host;
        _output = new ProcessOutput(process);
    }

    private bool _disposed;

    /// <summary>The node name.</summary>
    public string Node { get; }

    /// <summary>Its root and namespace.</summary>
    public AgentHost Host { get; }

    /// <summary>True once the process ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>What it printed so far.</summary>
    public string Output => _output.Text;

    /// <summary>Starts the agent; extra arguments (join token, CA hash) are appended.</summary>
    public static AgentProcess Start(AgentHost host, string node, Uri controller, params string[] extra) =>
        StartWith(null, host, node, controller, extra);

    /// <summary>
    /// Enrolls <paramref name="node"/> with a one-use join token of <paramref name="controller"/>, answering ACME HTTP-01 on
    /// <paramref name="address"/> at Pebble's validation port; returns once it is connected.
    /// </summary>
    public static async Task<AgentProcess> StartAnsweringHttp01Async(ControllerProcess controller, AgentHost host, string node, string address)
    {
        var token = await controller.TokenAsync(1);
        host.WriteFile("/etc/hawser/agent.yaml", $"acmeChallenge: {{listen: \"{address}:{PebbleServer.HttpChallengePort}\"}}\n");
        var agent = Start(host, node, controller.Address, "--join-token", token, "--ca-hash", controller.CaHash);
        await agent.WaitForAsync("connected to");
        return agent;
    }

    /// <summary>As <see cref="Start"/>, with extra environment variables.</summary>
    public static AgentProcess StartWith(IDictionary<string, string>? environment, AgentHost host, string node, Uri controller, params string[] extra) =>
        new(HawserProcesses.Start("hawser-agent",
            ["run", "--controller", controller.ToString(), "--node", node, "--root", host.Root, "--interval", "00:00:01", .. extra], host.Namespace, environment), node, host);

    /// <summary>As <see cref="Start"/>, running <paramref name="executable"/> (a release binary) instead of this build's agent, in the host's namespace.</summary>
    public static AgentProcess StartBinary(string executable, AgentHost host, string node, Uri controller, params string[] extra) =>
        StartUnder([], executable, host, node, controller, extra);

    /// <summary>
    /// As <see cref="StartBinary"/>, with <paramref name="launcher"/> before the binary (<c>qemu-aarch64-static -L /</c> runs an
    /// arm64 release on this machine).
    /// </summary>
    public static AgentProcess StartUnder(string[] launcher, string executable, AgentHost host, string node, Uri controller, params string[] extra)
    {
        string[] command = [.. launcher, executable, "run", "--controller", controller.ToString(), "--node", node, "--root", host.Root, "--interval", "00:00:01", .. extra];
        // nsenter execs the agent (no fork), so the process id is the agent's own.
        return new(host.Namespace is { } ns
            ? ExternalProcess.Start("nsenter", [$"--net=/run/netns/{ns.Name}", .. command])
            : ExternalProcess.Start(command[0], command[1..]), node, host);
    }

    /// <summary>SIGKILLs the agent (as a crash or the OOM killer would) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>The process id.</summary>
    public int Pid => _process.Id;

    /// <summary>Waits until the agent printed a line containing <paramref name="text"/>.</summary>
    public async Task WaitForAsync(string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                if (_process.HasExited)
                {
                    await _output.DrainAsync();
                    if (Output.Contains(text, StringComparison.Ordinal))
                    {
                        return;
                    }
                }
                throw new AssertFailedException($"{Node} did not print '{text}'{(_process.HasExited ? $" (exited {_process.ExitCode})" : string.Empty)}; it printed:\n{Output}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Waits for the process to end, and for everything it printed to be read, and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        await _output.DrainAsync();
        return _process.ExitCode;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // A test may stop one agent of a fleet early; the fleet disposes it again at the end.
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (!_process.HasExited)
        {
            Signals.Terminate(_process.Id);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }
}
