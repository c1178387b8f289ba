namespace Hawser.TestSupport;

/// <summary>
/// An earlier commit of this repository, extracted with <c>git archive</c> and built (same configuration as the tests) once per
/// machine, for upgrade tests: run its binaries inside <see cref="HawserProcesses.UseCheckout"/>.
/// </summary>
public static class OlderBuild
{
    private static readonly Dictionary<string, Lazy<Task<string>>> s_builds = [];

    /// <summary>
    /// The checkout of <paramref name="commit"/> with its controller, hawserctl and agent built (as <paramref name="version"/>
    /// when given: a release of another version made from the same code); built on first use.
    /// </summary>
    public static Task<string> OfAsync(string commit, string? version = null)
    {
        var key = version is null ? commit : $"{commit}-v{version}";
        lock (s_builds)
        {
            if (!s_builds.TryGetValue(key, out var build))
            {
                s_builds[key] = build = new Lazy<Task<string>>(() => BuildAsync(commit, key, version));
            }
            return build.Value;
        }
    }

    /// <summary>The commit checked out now (the tests' own code, for a build of it at another version).</summary>
    public static async Task<string> HeadAsync()
    {
        var head = await ExternalProcess.RunAsync("git", ["-C", RepoPaths.Root, "rev-parse", "HEAD"], TimeSpan.FromSeconds(30));
        return head.ExitCode == 0 ? head.StandardOutput.Trim() : throw new AssertFailedException($"git rev-parse HEAD in {RepoPaths.Root}: {head.Output}");
    }

    private static async Task<string> BuildAsync(string commit, string key, string? version)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        var checkout = Path.Combine(Path.GetTempPath(), $"hawser-build-{key}-{configuration}");
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
            var build = await ExternalProcess.RunAsync("dotnet", ["build", Path.Combine(checkout, "src", project), "-c", configuration, "-nologo", "-v", "quiet",
                .. version is null ? Array.Empty<string>() : [$"-p:Version={version}"]],
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
