namespace Hawser.TestSupport;

/// <summary>A temporary directory removed at dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Creates a fresh directory under the system temp folder.</summary>
    public TempDirectory(string prefix = "hawser-test-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
