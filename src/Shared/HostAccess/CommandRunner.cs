using System.Diagnostics;

namespace Hawser.Shared.HostAccess;

/// <summary>The outcome of a program the agent ran.</summary>
public sealed record CommandResult(IReadOnlyList<string> Argv, int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>True when the program exited 0.</summary>
    public bool Succeeded => ExitCode == 0;

    /// <summary>Throws <see cref="CommandFailedException"/> unless the program exited 0.</summary>
    public CommandResult EnsureSuccess() => Succeeded ? this : throw new CommandFailedException(this);
}

/// <summary>A program exited non-zero; the message carries its argv and what it printed.</summary>
public sealed class CommandFailedException(CommandResult result)
    : Exception($"`{string.Join(' ', result.Argv)}` exited {result.ExitCode}: {Describe(result)}")
{
    /// <summary>The failed run.</summary>
    public CommandResult Result { get; } = result;

    private static string Describe(CommandResult result)
    {
        var output = (result.StandardError.Trim() + "\n" + result.StandardOutput.Trim()).Trim();
        return output.Length == 0 ? "(no output)" : output;
    }
}

/// <summary>The one seam through which the agent runs host programs (ip, ufw, iptables, modprobe, service managers).</summary>
public interface ICommandRunner
{
    /// <summary>Runs <paramref name="argv"/> without a shell and returns how it ended; a missing program is a failed result, not an exception.</summary>
    Task<CommandResult> RunAsync(IReadOnlyList<string> argv, CancellationToken cancellationToken);
}

/// <summary>Runs real programs.</summary>
public sealed class ProcessCommandRunner : ICommandRunner
{
    /// <summary>Longest a host program may run before it is killed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <inheritdoc/>
    public async Task<CommandResult> RunAsync(IReadOnlyList<string> argv, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(argv[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in argv.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }
        // Host tools print parseable output only in the C locale.
        info.Environment["LC_ALL"] = "C";
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {argv[0]}");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return new CommandResult(argv, 127, string.Empty, $"{argv[0]}: {ex.Message}");
        }
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                cancellationToken.ThrowIfCancellationRequested();
                return new CommandResult(argv, 124, string.Empty, $"killed after {Timeout.TotalSeconds:0} s");
            }
            return new CommandResult(argv, process.ExitCode, await stdout, await stderr);
        }
    }
}
