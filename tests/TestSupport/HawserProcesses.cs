using System.Diagnostics;

namespace Hawser.TestSupport;

/// <summary>Hawser's own binaries, run as real processes from the test's output folder.</summary>
public static class HawserProcesses
{
    /// <summary>Runs hawserctl (or another Hawser binary) to its end.</summary>
    public static Task<ProcessResult> RunAsync(string binary, IEnumerable<string> arguments, IDictionary<string, string>? environment = null) =>
        ExternalProcess.RunAsync("dotnet", [DllPath(binary), .. arguments], TimeSpan.FromSeconds(60), environment: environment);

    /// <summary>Starts a Hawser binary; the caller owns the process.</summary>
    public static Process Start(string binary, IEnumerable<string> arguments) =>
        ExternalProcess.Start("dotnet", [DllPath(binary), .. arguments]);

    private static string DllPath(string binary)
    {
        var path = Path.Combine(AppContext.BaseDirectory, binary + ".dll");
        if (!File.Exists(path))
        {
            throw new AssertFailedException($"{path} is missing: the test project must reference the {binary} project");
        }
        return path;
    }
}
