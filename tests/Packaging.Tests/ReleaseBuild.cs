using Hawser.TestSupport;

namespace Hawser.Packaging.Tests;

/// <summary>
/// One run of <c>packaging/build-release.sh</c> for the agent, shared by the tests that check its
/// artifacts (NativeAOT for x64 and arm64, about a minute each; hawserctl goes the same way).
/// </summary>
internal static class ReleaseBuild
{
    /// <summary>The version the tests build.</summary>
    public const string Version = "0.0.1-test";

    private static readonly TempDirectory Output = new("hawser-release-");
    private static readonly Lazy<Task<string>> Built = new(BuildAsync);

    /// <summary>The output directory, built on first use.</summary>
    public static Task<string> DirectoryAsync() => Built.Value;

    /// <summary>The release agent (NativeAOT) for <paramref name="arch"/> (x64 or arm64).</summary>
    public static async Task<string> AgentAsync(string arch = "x64") => Path.Combine(await DirectoryAsync(), $"linux-{arch}", "hawser-agent");

    /// <summary>The agent's .deb for <paramref name="debianArch"/> (amd64 or arm64).</summary>
    public static async Task<string> AgentDebAsync(string debianArch = "amd64") => Path.Combine(await DirectoryAsync(), $"hawser-agent_{Version}_{debianArch}.deb");

    /// <summary>Deletes the build.</summary>
    public static void Remove() => Output.Dispose();

    private static async Task<string> BuildAsync()
    {
        // Three builds (NativeAOT x64 and arm64, framework-dependent for musl) on 2 cores: about 7 minutes alone, more
        // beside other work (a CI run with the demo beside it went past the old 10-minute bound).
        var result = await ExternalProcess.RunAsync(Path.Combine(RepoPaths.Root, "packaging", "build-release.sh"),
            [Version, "--out", Output.Path, "--only", "hawser-agent"], TimeSpan.FromMinutes(20));
        if (result.ExitCode != 0)
        {
            throw new AssertFailedException($"packaging/build-release.sh failed: {result.Output}");
        }
        return Output.Path;
    }
}
