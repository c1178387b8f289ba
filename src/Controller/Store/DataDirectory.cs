namespace Hawser.Controller.Store;

/// <summary>Checks on the data directory itself, before anything in it is trusted.</summary>
public static class DataDirectory
{
    /// <summary>Why <paramref name="directory"/> cannot be used by this user, or null when it can be read (or does not exist yet).</summary>
    public static string? Unreadable(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return null;
        }
        try
        {
            _ = Directory.EnumerateFileSystemEntries(directory).Take(1).ToList();
            var pki = Path.Join(directory, "pki");
            if (Directory.Exists(pki))
            {
                _ = Directory.EnumerateFileSystemEntries(pki).Take(1).ToList();
            }
            return null;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            return $"cannot read the data directory {directory} as user {Environment.UserName}: {ex.Message}";
        }
    }
}
