using System.Text;

namespace Hawser.TestSupport;

/// <summary>
/// One test host for hawser-agent: a temp directory as its root (every /etc file lives there) and,
/// when given, a network namespace whose real /proc/sys the agent reads and writes.
/// </summary>
public sealed class AgentHost : IDisposable
{
    private readonly TempDirectory _root = new("hawser-agent-root-");

    /// <summary>A host whose commands run in <paramref name="ns"/> (or in the test's own namespace when null).</summary>
    public AgentHost(NetworkNamespace? ns = null) => Namespace = ns;

    /// <summary>The namespace the agent runs in.</summary>
    public NetworkNamespace? Namespace { get; }

    /// <summary>The directory passed as --root.</summary>
    public string Root => _root.Path;

    /// <summary>
    /// Runs a shell line in <paramref name="ns"/> with this root's /etc/default and /etc/ufw in place of the
    /// machine's (a private mount namespace), so ufw and the agent's ufw calls touch the test's copy only.
    /// </summary>
    public Task<ProcessResult> RunWithOwnUfwAsync(NetworkNamespace ns, string command) =>
        ns.TryExecAsync("unshare", "-m", "sh", "-c",
            $"mount --bind {PathOf("/etc/default")} /etc/default && mount --bind {PathOf("/etc/ufw")} /etc/ufw && {command}");

    /// <summary>The on-disk path of host path <paramref name="hostPath"/>.</summary>
    public string PathOf(string hostPath) => Path.Join(Root, hostPath);

    /// <summary>Writes a host file under the root.</summary>
    public string WriteFile(string hostPath, string content)
    {
        var path = PathOf(hostPath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Reads a host file under the root.</summary>
    public string ReadFile(string hostPath) => File.ReadAllText(PathOf(hostPath));

    /// <summary>Writes the spec beside the root (not inside it) and returns its path.</summary>
    public string WriteSpec(string yaml, string name = "spec.yaml")
    {
        var path = Path.Join(Root + "-spec", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, yaml, Encoding.UTF8);
        return path;
    }

    /// <summary>Runs <c>hawser-agent apply</c> for <paramref name="node"/> with this root, in the namespace if any.</summary>
    public Task<ProcessResult> ApplyAsync(string specPath, string node, params string[] extra) =>
        RunAgentAsync(["apply", "-f", specPath, "--node", node, "--root", Root, .. extra]);

    /// <summary>Runs hawser-agent with any arguments.</summary>
    public Task<ProcessResult> RunAgentAsync(IReadOnlyList<string> arguments)
    {
        string[] agent = ["dotnet", AgentDll, .. arguments];
        return Namespace is null
            ? ExternalProcess.RunAsync(agent[0], agent[1..], TimeSpan.FromMinutes(3))
            : Namespace.TryExecAsync(agent);
    }

    /// <summary>The node certificate this host's agent enrolled with, with its key, usable as a TLS client certificate.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2 NodeCertificate()
    {
        using var pem = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(PathOf("/var/lib/hawser/node.crt"), PathOf("/var/lib/hawser/node.key"));
        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(
            pem.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
    }

    /// <summary>The agent's entry assembly in its own project's output.</summary>
    public static string AgentDll => HawserProcesses.DllPath("hawser-agent");

    /// <summary>Every file under the root with its last write time, to prove nothing was written.</summary>
    public Dictionary<string, DateTime> Snapshot() =>
        Directory.EnumerateFileSystemEntries(Root, "*", SearchOption.AllDirectories)
            // The local journal records every run, an in-sync one too (and so touches its directory): the agent's record, not a file it manages.
            .Where(p => !Path.GetFileName(p).StartsWith("journal.jsonl", StringComparison.Ordinal) && !Path.GetFileName(p).StartsWith(".journal.jsonl", StringComparison.Ordinal)
                && p != PathOf("/var/lib/hawser"))
            .ToDictionary(p => p, p => new FileInfo(p).LinkTarget is null ? File.GetLastWriteTimeUtc(p) : DateTime.MinValue);

    /// <inheritdoc/>
    public void Dispose()
    {
        _root.Dispose();
        if (Directory.Exists(Root + "-spec"))
        {
            Directory.Delete(Root + "-spec", recursive: true);
        }
    }
}
