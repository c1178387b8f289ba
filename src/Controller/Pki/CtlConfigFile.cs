using Hawser.Shared.IO;

namespace Hawser.Controller.Pki;

/// <summary>Writes the hawserctl config that points at this controller with the admin credential.</summary>
internal static class CtlConfigFile
{
    /// <summary>Writes <paramref name="path"/> (0600; it names the admin key).</summary>
    public static void Write(string path, string url, ControllerPki pki)
    {
        var text = $"""
            # hawserctl: which controller, and the admin credential it was given by `hawser-controller init`.
            controller: {url}
            ca: {pki.CaPath}
            certificate: {pki.AdminCertificatePath}
            key: {pki.AdminKeyPath}

            """;
        AtomicFile.Write(Path.GetFullPath(path), System.Text.Encoding.UTF8.GetBytes(text), UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
