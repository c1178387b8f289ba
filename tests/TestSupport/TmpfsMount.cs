namespace Hawser.TestSupport;

/// <summary>A small tmpfs mounted over a directory, to run out of space for real; unmounted at dispose.</summary>
public sealed class TmpfsMount : IDisposable
{
    private TmpfsMount(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (e.g. <c>2m</c>) over <paramref name="path"/>, hiding what was there.</summary>
    public static async Task<TmpfsMount> MountAsync(string path, string size)
    {
        var result = await ExternalProcess.RunAsync("mount", ["-t", "tmpfs", "-o", $"size={size},mode=0755", "tmpfs", path]);
        if (result.ExitCode != 0)
        {
            throw new AssertFailedException($"mount -t tmpfs on {path} failed (the tests run as root): {result.Output}");
        }
        return new TmpfsMount(path);
    }

    /// <summary>Writes zeros to a file until the file system is full; returns the file's path.</summary>
    public string Fill()
    {
        var filler = System.IO.Path.Join(Path, "filler");
        using var stream = new FileStream(filler, FileMode.Create, FileAccess.Write);
        var chunk = new byte[4096];
        try
        {
            while (true)
            {
                stream.Write(chunk);
                stream.Flush(flushToDisk: true);
            }
        }
        catch (IOException)
        {
            return filler; // ENOSPC: full
        }
    }

    /// <summary>Remounts read-only (or back to read-write).</summary>
    public async Task RemountAsync(bool readOnly)
    {
        var result = await ExternalProcess.RunAsync("mount", ["-o", readOnly ? "remount,ro" : "remount,rw", Path]);
        if (result.ExitCode != 0)
        {
            throw new AssertFailedException($"remount of {Path} failed: {result.Output}");
        }
    }

    /// <inheritdoc/>
    public void Dispose() => ExternalProcess.RunAsync("umount", ["-l", Path]).GetAwaiter().GetResult();
}
