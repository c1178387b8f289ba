namespace Hawser.Agent.Resources;

/// <summary>The modes the agent gives the files it writes.</summary>
internal static class FileModes
{
    /// <summary>0644: configuration and certificates.</summary>
    public const UnixFileMode PublicFile = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>0600: private keys and anything holding one.</summary>
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
}
