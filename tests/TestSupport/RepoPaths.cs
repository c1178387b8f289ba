namespace Hawser.TestSupport;

/// <summary>Paths inside the repository the tests run from.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cluster.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no Cluster.sln above {AppContext.BaseDirectory}");
    });

    /// <summary>The repository's root folder (where Cluster.sln is).</summary>
    public static string Root => RootPath.Value;

    /// <summary>The grpc-js and grpcio interop peers.</summary>
    public static string Interop => Path.Combine(Root, "tests", "interop");
}
