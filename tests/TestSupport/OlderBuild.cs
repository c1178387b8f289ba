namespace Hawser.TestSupport;

/// <summary>
/// An earlier commit of this repository, extracted with <c>git archive</c> and built (same configuration as the tests) once per
/// machine, for upgrade tests: run its binaries inside <see cref="HawserProcesses.UseCheckout"/>.
/// </summary>
public static class OlderBuild
{
    private static readonly Dictionary<string, Lazy<Task<string>>> s_builds = [];

    /// <summary>The checkout of <paramref name="commit"/> with its controller, hawserctl and agent built; built on first use.</summary>
    public static Task<string> OfAsync(string commit)
    {
        lock (s_builds)
        {
            if (!s_builds.TryGetValue(commit, out var build))
            {
                s_builds[commit] = build = new Lazy<Task<string>>(() => BuildAsync(commit));
            }
            return build.Value;
        }
    }

    private static async Task<string> BuildAsync(string commit)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        var checkout = Path.Combine(Path.GetTempPath(), $"hawser-build-{commit}-{configuration}");
        var done = Path.Combine(checkout, ".built");
        if (File.Exists(done))
        {
            return checkout;
        }
        if (Directory.Exists(checkout))
        {
            Directory.Delete(checkout, recursive: true);
        }
        Directory.CreateDirectory(checkout);
        var archive = await ExternalProcess.RunAsync("sh", ["-c", $"git -C '{RepoPaths.Root}' archive {commit} | tar -x -C '{checkout}'"], TimeSpan.FromMinutes(2));
        if (archive.ExitCode != 0)
        {
            throw new AssertFailedException($"cannot extract commit {commit} of {RepoPaths.Root} (the upgrade tests need the repository's history): {archive.Output}");
        }
        foreach (var project in new[] { "Controller", "Ctl", "Agent" })
        {
            var build = await ExternalProcess.RunAsync("dotnet", ["build", Path.Combine(checkout, "src", project), "-c", configuration, "-nologo", "-v", "quiet"],
                TimeSpan.FromMinutes(10));
            if (build.ExitCode != 0)
            {
                throw new AssertFailedException($"building {project} of commit {commit} failed: {build.Output}");
            }
        }
        File.WriteAllText(done, commit);
        return checkout;
    }
}
