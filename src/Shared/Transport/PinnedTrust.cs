using System.Runtime.InteropServices;

namespace Hawser.Shared.Transport;

/// <summary>For a process whose only TLS peer is the controller, checked against the pinned CA alone.</summary>
public static partial class PinnedTrust
{
    /// <summary>
    /// Points the system trust store at nothing (SSL_CERT_FILE, SSL_CERT_DIR, in the native environment that
    /// OpenSSL and .NET's store loader read), so building a certificate chain no longer reads the hundreds of
    /// system roots first: they were never trusted here, and reading them was most of a hawserctl call
    /// (tests/Benchmarks/README.md). Call it only in a process that makes no other TLS connection
    /// (hawserctl, the agent's fleet mode), before its first TLS connection.
    /// </summary>
    public static void ExcludeSystemRoots()
    {
        Set("SSL_CERT_FILE", "/dev/null");
        Set("SSL_CERT_DIR", "/nonexistent/hawser-trusts-only-the-pinned-ca");
    }

    private static void Set(string name, string value)
    {
        // Environment.SetEnvironmentVariable changes .NET's copy only; native getenv would still see the old value.
        if (SetEnv(name, value, 1) != 0)
        {
            throw new InvalidOperationException($"setenv {name}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        Environment.SetEnvironmentVariable(name, value);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
