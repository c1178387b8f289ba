using Hawser.TestSupport;

namespace Hawser.Packaging.Tests;

/// <summary>
/// One run of <c>packaging/build-release.sh</c> for the agent, shared by the tests that check its
/// artifacts (a minute of trimming and ReadyToRun compilation; the other binaries go the same way).
/// </summary>
internal static class ReleaseBuild
{
    /// <summary>The version the tests build.</summary>
    public const string Version = "0.0.1-test";

    private static readonly TempDirectory Output = new("hawser-release-");
    private static readonly Lazy<Task<string>> Built = new(BuildAsync);

    /// <summary>The output directory, built on first use.</summary>
    public static Task<string> DirectoryAsync() => Built.Value;

    /// <summary>The self-contained release agent.</summary>
    public static async Task<string> AgentAsync() => Path.Combine(await DirectoryAsync(), "linux-x64", "hawser-agent");

    /// <summary>The agent's .deb.</summary>
    public static async Task<string> AgentDebAsync() => Path.Combine(await DirectoryAsync(), $"hawser-agent_{Version}_amd64.deb");

    /// <summary>Deletes the build.</summary>
    public static void Remove() => Output.Dispose();

    private static async Task<string> BuildAsync()
    {
        var result = await ExternalProcess.RunAsync(Path.Combine(RepoPaths.Root, "packaging", "build-release.sh"),
            [Version, "--out", Output.Path, "--only", "hawser-agent"], TimeSpan.FromMinutes(10));
        if (result.ExitCode != 0)
        {
            throw new AssertFailedException($"packaging/build-release.sh failed: {result.Output}");
        }
        return Output.Path;
    }
}
