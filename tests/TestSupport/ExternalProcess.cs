using System.Diagnostics;
using System.Text;

namespace Hawser.TestSupport;

/// <summary>The outcome of a finished process.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Everything the process printed, for assertion messages.</summary>
    public string Output => $"exit {ExitCode}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
}

/// <summary>Runs real programs (node, python3, the project's binaries) for tests.</summary>
public static class ExternalProcess
{
    /// <summary>Runs a program to its end; a missing program or a time-out fails the test with what it printed.</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments,
        TimeSpan? timeout = null, string? workingDirectory = null, IDictionary<string, string>? environment = null)
    {
        using var process = Start(fileName, arguments, workingDirectory, environment);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new AssertFailedException(
                $"{fileName} {string.Join(' ', arguments)} did not finish within {timeout}; stdout: {await stdout} stderr: {await stderr}");
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a program with redirected output; the caller owns the process.</summary>
    public static Process Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null,
        IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepoPaths.Root,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }
        try
        {
            return Process.Start(info) ?? throw new AssertFailedException($"could not start {fileName}");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new AssertFailedException($"{fileName} is not installed or not runnable ({ex.Message}); .ci/run installs it", ex);
        }
    }

    /// <summary>Reads lines from a running process until one starts with <paramref name="prefix"/>; returns the rest of that line.</summary>
    public static async Task<string> WaitForLineAsync(Process process, string prefix, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var seen = new StringBuilder();
        while (true)
        {
            string? line;
            try
            {
                line = await process.StandardOutput.ReadLineAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new AssertFailedException($"no line starting '{prefix}' within {timeout}; saw: {seen}");
            }
            if (line is null)
            {
                var err = await process.StandardError.ReadToEndAsync(CancellationToken.None);
                throw new AssertFailedException($"process ended before printing '{prefix}'; saw: {seen} stderr: {err}");
            }
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..].Trim();
            }
            seen.AppendLine(line);
        }
    }
}
