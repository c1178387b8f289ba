using System.Diagnostics;

namespace Hawser.TestSupport;

/// <summary>Hawser's own binaries, run as real processes from the test's output folder.</summary>
public static class HawserProcesses
{
    /// <summary>
    /// A directory of release binaries (packaging/build-release.sh's output for this machine) to run instead of the
    /// build's dlls, for those this class starts: e.g. <c>HAWSER_TEST_BIN_DIR=/tmp/rel/linux-x64 ./test.sh --filter Dns01</c>.
    /// </summary>
    public const string BinaryDirectoryVariable = "HAWSER_TEST_BIN_DIR";

    private static readonly AsyncLocal<string?> s_checkout = new();

    /// <summary>
    /// Until the result is disposed, the processes this test (and what it awaits) starts are another checkout's build
    /// (<see cref="OlderBuild"/>), not this one's; other tests running meanwhile are not affected.
    /// </summary>
    public static IDisposable UseCheckout(string checkout)
    {
        s_checkout.Value = checkout;
        return new CheckoutScope();
    }

    private sealed class CheckoutScope : IDisposable
    {
        public void Dispose() => s_checkout.Value = null;
    }

    /// <summary>Runs hawserctl (or another Hawser binary) to its end.</summary>
    public static Task<ProcessResult> RunAsync(string binary, IEnumerable<string> arguments, IDictionary<string, string>? environment = null)
    {
        var command = Command(binary);
        return ExternalProcess.RunAsync(command[0], [.. command[1..], .. arguments], TimeSpan.FromSeconds(60), environment: environment);
    }

    /// <summary>Starts a Hawser binary, inside <paramref name="ns"/> when given; the caller owns the process.</summary>
    public static Process Start(string binary, IEnumerable<string> arguments, NetworkNamespace? ns = null, IDictionary<string, string>? environment = null)
    {
        var command = Command(binary);
        return ns is null
            ? ExternalProcess.Start(command[0], [.. command[1..], .. arguments], environment: environment)
            : ExternalProcess.Start("nsenter", [$"--net=/run/netns/{ns.Name}", .. command, .. arguments], environment: environment);
    }

    /// <summary>Runs a Hawser binary to its end inside <paramref name="ns"/>.</summary>
    public static Task<ProcessResult> RunInAsync(NetworkNamespace ns, string binary, IEnumerable<string> arguments) =>
        ns.TryExecAsync([.. Command(binary), .. arguments]);

    /// <summary>The release binary from <see cref="BinaryDirectoryVariable"/> when it holds one, else <c>dotnet</c> and the build's dll.</summary>
    private static string[] Command(string binary) =>
        s_checkout.Value is null && Environment.GetEnvironmentVariable(BinaryDirectoryVariable) is { Length: > 0 } directory && File.Exists(Path.Join(directory, binary))
            ? [Path.Join(directory, binary)]
            : ["dotnet", DllPath(binary)];

    /// <summary>
    /// The binary in its own project's output (same configuration as the tests), with its own
    /// runtimeconfig and dependencies: the agent and hawserctl run without ASP.NET Core, and the test
    /// output folder (which holds the controller's framework assemblies too) would hide a missing one.
    /// </summary>
    public static string DllPath(string binary)
    {
        var project = binary switch
        {
            "hawser-agent" => "Agent",
            "hawserctl" => "Ctl",
            "hawser-controller" => "Controller",
            _ => throw new ArgumentException($"unknown Hawser binary '{binary}'", nameof(binary)),
        };
        // AppContext.BaseDirectory is tests/PROJECT/bin/CONFIGURATION/TFM/.
        var tfmDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var path = Path.Combine(s_checkout.Value ?? RepoPaths.Root, "src", project, "bin", tfmDirectory.Parent!.Name, tfmDirectory.Name, binary + ".dll");
        if (!File.Exists(path))
        {
            throw new AssertFailedException($"{path} is missing: the test project must reference the {binary} project");
        }
        return path;
    }
}
