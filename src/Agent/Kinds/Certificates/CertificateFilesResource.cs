using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Hawser.Agent.Reconcile;
using Hawser.Agent.Resources;
using Hawser.Shared.HostAccess;
using Hawser.Shared.IO;
using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.Certificates;

namespace Hawser.Agent.Kinds.Certificates;

/// <summary>
/// A certificate's files in the formats the proxies read, then its reload actions, run only when the
/// content changed. Two-file formats switch as a pair: the paths are symlinks into a store beside the
/// certificate whose <c>current</c> link is replaced in one rename, so a crash leaves the old pair or
/// the new one, never a new certificate with an old key. A reload that failed is retried next converge.
/// </summary>
public sealed class CertificateFilesResource(CertificateSpec spec, CertificateMaterial material) : IResource
{
    /// <inheritdoc/>
    public string Id => $"certificate:{spec.Name}";

    /// <inheritdoc/>
    public IReadOnlyList<string> DependsOn => [];

    /// <inheritdoc/>
    public async Task<ResourcePlan> PlanAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var changes = new List<Change>();
        foreach (var target in Targets())
        {
            var (uid, gid) = Accounts.Resolve(context, target.Install);
            changes.AddRange(Differences(context, target, uid, gid));
        }
        if (context.State.PendingReloads.Contains(spec.Name))
        {
            changes.Add(new Change("reload", "pending (last attempt failed)", "done"));
        }
        if (changes.Count == 0)
        {
            // The files are right; what the servers serve is the other half of "installed".
            foreach (var check in Checks())
            {
                if (Mismatch(check, await ProbeAsync(context, check, cancellationToken)) is { } change)
                {
                    changes.Add(change);
                }
            }
        }
        return new ResourcePlan { Changes = changes, Warnings = material.Warnings(spec.Domains) };
    }

    /// <summary>The prefix of a change that is a server serving another certificate than the installed one.</summary>
    private const string ServedChange = "served at ";

    /// <summary>One address to check, with the file whose certificate it should serve (for messages).</summary>
    private sealed record ServedCheck(string Connect, string ServerName, bool Explicit, string File);

    /// <summary>The distinct addresses this certificate's installs are served at; none for <c>verify: false</c>.</summary>
    private IEnumerable<ServedCheck> Checks() => spec.Install
        .Select(install => (install, verify: install.Verify ?? CertificateVerifySpec.Default))
        .Where(i => !i.verify.IsOff && i.install.Files.Count > 0)
        .Select(i => new ServedCheck(i.verify.Connect, i.verify.ServerName(spec.Domains), i.verify.Explicit, i.install.Files[0]))
        .DistinctBy(c => (c.Connect, c.ServerName));

    private async Task<ServedCertificate> ProbeAsync(ResourceContext context, ServedCheck check, CancellationToken cancellationToken)
    {
        var served = await ServedCertificateProbe.ReadAsync(spec.Name, check.Connect, check.ServerName, cancellationToken);
        context.Served[(spec.Name, check.Connect)] = served;
        return served;
    }

    /// <summary>
    /// The change a served certificate asks for: none when it is the installed one; a reload when another one covering the
    /// name is served. A server that does not answer fails a check the spec wrote, and is left alone for the default
    /// (a guess at where the server listens), as is a default's leaf for other names (another server on that port).
    /// </summary>
    private Change? Mismatch(ServedCheck check, ServedCertificate served)
    {
        if (served.Serial == material.Leaf.SerialNumber || !check.Explicit && (served.Serial is null || !served.CoversName))
        {
            return null;
        }
        if (served.Serial is null)
        {
            throw new ResourceException($"{check.File} installed {Short(material.Leaf.SerialNumber)}, but {check.Connect} does not serve it: {served.Error}");
        }
        return new Change(ServedChange + check.Connect, Short(served.Serial), Short(material.Leaf.SerialNumber));
    }

    /// <summary>
    /// After the files changed or a reload, waits (bounded) for each server to serve the installed leaf, on several
    /// handshakes in a row: proxies reload in the background, and while old workers shut down a handshake may still meet
    /// one of them, so one good answer is not yet the server's answer.
    /// </summary>
    private async Task VerifyServedAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        const int InARow = 3;
        foreach (var check in Checks())
        {
            var deadline = DateTime.UtcNow + ServedWait;
            var served = await ProbeAsync(context, check, cancellationToken);
            var good = Mismatch(check, served) is null ? 1 : 0;
            while (good < InARow && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
                served = await ProbeAsync(context, check, cancellationToken);
                good = Mismatch(check, served) is null ? good + 1 : 0;
            }
            if (Mismatch(check, served) is not null)
            {
                throw new ResourceException($"{check.File} installed {Short(material.Leaf.SerialNumber)}, {check.Connect} serves {Short(served.Serial!)}"
                    + (spec.Reload is null ? " (the spec has no reload: for this certificate)" : " (not reloaded?)"));
            }
        }
    }

    /// <summary>How long a server has to serve a new certificate after its reload.</summary>
    public static TimeSpan ServedWait { get; } = TimeSpan.FromSeconds(10);

    /// <summary>What each checked server serves, for a reload failure's message: "; 127.0.0.1:443 serves 1A2B… (installed 4F5D…)".</summary>
    private async Task<string> ServedNowAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        foreach (var check in Checks())
        {
            var served = await ProbeAsync(context, check, cancellationToken);
            if (served.Serial is { } serial && serial != material.Leaf.SerialNumber)
            {
                text.Append($"; {check.Connect} serves {Short(serial)} (installed {Short(material.Leaf.SerialNumber)})");
            }
        }
        return text.ToString();
    }

    private static string Short(string serial) => Shared.Protocol.CertificateNodeWords.Abbreviated(serial);

    /// <inheritdoc/>
    public async Task ApplyAsync(ResourcePlan plan, ResourceContext context, CancellationToken cancellationToken)
    {
        var installs = spec.Install.Select((install, index) => (install, index)).ToList();
        var wrote = false;
        foreach (var (install, index) in installs)
        {
            var targets = Targets(install, index).ToList();
            var (uid, gid) = Accounts.Resolve(context, install);
            if (targets.All(t => Differences(context, t, uid, gid).Count == 0))
            {
                continue;
            }
            if (!wrote)
            {
                // Remembered before any file moves, so a crash between files and reload still reloads next time.
                context.State.PendingReloads.Add(spec.Name);
                context.SaveState();
                wrote = true;
            }
            foreach (var target in targets)
            {
                context.RememberFile(target.HostPath, Id);
            }
            if (targets.Count == 1)
            {
                AtomicFile.Write(context.Area.ForWrite(targets[0].HostPath), targets[0].Content, targets[0].Mode, uid, gid, noSymlinks: true);
            }
            else
            {
                InstallPair(context, targets, index, uid, gid);
            }
        }
        if (!wrote && plan.Changes.Any(c => c.Target.StartsWith(ServedChange, StringComparison.Ordinal)))
        {
            // The files are right but a server still serves another certificate: it missed a reload.
            context.State.PendingReloads.Add(spec.Name);
            context.SaveState();
        }
        var reloaded = context.State.PendingReloads.Contains(spec.Name);
        if (reloaded)
        {
            try
            {
                await ReloadAsync(context, cancellationToken);
            }
            catch (ResourceException ex)
            {
                throw new ResourceException(ex.Message + await ServedNowAsync(context, cancellationToken), ex);
            }
            context.State.PendingReloads.Remove(spec.Name);
        }
        if (wrote || reloaded)
        {
            await VerifyServedAsync(context, cancellationToken);
        }
    }

    /// <summary>Writes a versioned copy of both files, then swaps the store's <c>current</c> link once.</summary>
    private void InstallPair(ResourceContext context, List<Target> targets, int index, int uid, int gid)
    {
        var store = targets[0].Install.StoreDirectory(spec.Name, index)!;
        var version = "v-" + Convert.ToHexStringLower(SHA256.HashData([.. targets.SelectMany(t => t.Content)]))[..16];
        foreach (var target in targets)
        {
            AtomicFile.Write(context.Area.ForWrite(Path.Join(store, version, target.StoreName)), target.Content, target.Mode, uid, gid, noSymlinks: true);
        }
        var current = context.Area.ForWrite(Path.Join(store, "current"));
        AtomicFile.ReplaceSymlink(current, version, noSymlinks: true);
        foreach (var target in targets)
        {
            var link = context.Area.ForWrite(target.HostPath);
            var wanted = Path.GetRelativePath(Path.GetDirectoryName(link)!, Path.Join(current, target.StoreName));
            if (new FileInfo(link).LinkTarget != wanted)
            {
                AtomicFile.ReplaceSymlink(link, wanted, noSymlinks: true);
            }
        }
        foreach (var old in Directory.EnumerateDirectories(Path.GetDirectoryName(current)!, "v-*").Where(d => Path.GetFileName(d) != version))
        {
            AtomicFile.DeleteTree(old, noSymlinks: true);
        }
    }

    private async Task ReloadAsync(ResourceContext context, CancellationToken cancellationToken)
    {
        if (spec.Reload is not { } reload)
        {
            return;
        }
        try
        {
            if (reload.Command is { } command)
            {
                (await context.Runner.RunAsync(command, cancellationToken)).EnsureSuccess();
            }
            if (reload.DockerSignal is { } signal)
            {
                await context.Docker.SignalContainerAsync(signal.Container, signal.Signal, cancellationToken);
            }
            if (reload.DockerExec is { } exec)
            {
                var (exitCode, output) = await context.Docker.ExecAsync(exec.Container, exec.Command, cancellationToken);
                if (exitCode != 0)
                {
                    throw new ResourceException($"`{string.Join(' ', exec.Command)}` in container {exec.Container} exited {exitCode}: {output.Trim()}");
                }
            }
        }
        catch (Exception ex) when (ex is CommandFailedException or Hawser.Agent.Docker.DockerApiException or HttpRequestException)
        {
            throw new ResourceException($"the files are installed, but the reload failed (retried on the next converge): {ex.Message}", ex);
        }
    }

    /// <summary>How one target differs from what it should be: content first; mode and owner only once the content is right.</summary>
    private static List<Change> Differences(ResourceContext context, Target target, int uid, int gid)
    {
        var path = context.Area.ForRead(target.HostPath);
        var current = File.Exists(path) ? File.ReadAllBytes(path) : null;
        if (current is null || !current.AsSpan().SequenceEqual(target.Content))
        {
            return [new Change(target.HostPath, current is null ? null : Fingerprint(current), Fingerprint(target.Content))];
        }
        var changes = new List<Change>();
        var mode = File.GetUnixFileMode(path);
        if (mode != target.Mode)
        {
            changes.Add(new Change($"{target.HostPath} mode", Octal(mode), Octal(target.Mode)));
        }
        var owner = AtomicFile.Owner(new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path);
        if ((uid >= 0 && owner.Uid != uid) || (gid >= 0 && owner.Gid != gid))
        {
            changes.Add(new Change($"{target.HostPath} owner", $"{owner.Uid}:{owner.Gid}", $"{(uid >= 0 ? uid : owner.Uid)}:{(gid >= 0 ? gid : owner.Gid)}"));
        }
        return changes;
    }

    /// <summary>The serial of the leaf in <paramref name="spec"/>'s first install file, or null when there is none or it cannot be read.</summary>
    public static string? InstalledSerial(CertificateSpec spec, HostPaths paths) => InstalledLeaf(spec, paths)?.Serial;

    /// <summary>The serial and validity of the leaf in the certificate's first install file, or null when none is readable there.</summary>
    public static InstalledLeaf? InstalledLeaf(CertificateSpec spec, HostPaths paths)
    {
        if (spec.Install.Count == 0 || spec.Install[0] is not { } first || (first.Format == "pem-pair" ? first.Cert : first.Path) is not { } hostPath)
        {
            return null;
        }
        try
        {
            using var leaf = X509Certificate2.CreateFromPem(File.ReadAllText(paths.Map(hostPath)));
            return new InstalledLeaf(spec.Name, leaf.SerialNumber, new DateTimeOffset(leaf.NotBefore.ToUniversalTime()), new DateTimeOffset(leaf.NotAfter.ToUniversalTime()));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            return null;
        }
    }

    private IEnumerable<Target> Targets() => spec.Install.SelectMany((install, index) => Targets(install, index));

    private IEnumerable<Target> Targets(CertificateInstallSpec install, int index)
    {
        var files = install.Files;
        return install.Format switch
        {
            "pem-pair" or "haproxy" =>
            [
                new Target(install, files[0], "cert.pem", material.Chain, FileModes.PublicFile),
                new Target(install, files[1], "key.pem", material.Key, FileModes.PrivateFile),
            ],
            "combined" => [new Target(install, files[0], "combined.pem", [.. material.Key, .. material.Chain], FileModes.PrivateFile)],
            _ => throw new ResourceException($"install #{index + 1} has unknown format {install.Format}"),
        };
    }

    private static string Fingerprint(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content))[..12];

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');

    private sealed record Target(CertificateInstallSpec Install, string HostPath, string StoreName, byte[] Content, UnixFileMode Mode);
}

/// <summary>A certificate chain (leaf first) and its private key, as PEM, checked to belong together.</summary>
public sealed class CertificateMaterial
{
    private CertificateMaterial(byte[] chain, byte[] key, X509Certificate2 leaf)
    {
        Chain = chain;
        Key = key;
        Leaf = leaf;
    }

    /// <summary>The chain's PEM, leaf first, ending in a newline.</summary>
    public byte[] Chain { get; }

    /// <summary>The key's PEM, ending in a newline.</summary>
    public byte[] Key { get; }

    /// <summary>The leaf certificate.</summary>
    public X509Certificate2 Leaf { get; }

    /// <summary>Reads and checks PEM text; the error names <paramref name="origin"/>.</summary>
    public static CertificateMaterial FromPem(string chainPem, string keyPem, string origin)
    {
        X509Certificate2 leaf;
        try
        {
            leaf = X509Certificate2.CreateFromPem(chainPem, keyPem);
        }
        catch (CryptographicException ex)
        {
            throw new ResourceException($"{origin}: the certificate and key do not load as a pair, leaf first ({ex.Message})", ex);
        }
        return new CertificateMaterial(Encoding.ASCII.GetBytes(chainPem.Trim() + "\n"), Encoding.ASCII.GetBytes(keyPem.Trim() + "\n"), leaf);
    }

    /// <summary>Reads a spec's <c>source</c> files; relative paths are relative to <paramref name="specDirectory"/>.</summary>
    public static CertificateMaterial FromFiles(CertificateSourceSpec source, string specDirectory)
    {
        var cert = Path.GetFullPath(source.Cert, specDirectory);
        var key = Path.GetFullPath(source.Key, specDirectory);
        try
        {
            return FromPem(File.ReadAllText(cert), File.ReadAllText(key), $"{cert} + {key}");
        }
        catch (IOException ex)
        {
            throw new ResourceException($"cannot read the certificate source: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// True when the leaf covers <paramref name="domain"/>; a wildcard (<c>*.example.org</c>), which
    /// MatchesHostname does not take, is covered by the same wildcard among the leaf's names.
    /// </summary>
    private bool Covers(string domain) => domain.StartsWith("*.", StringComparison.Ordinal)
        ? Leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames()).Contains(domain, StringComparer.OrdinalIgnoreCase)
        : Leaf.MatchesHostname(domain);

    /// <summary>Domains the leaf does not cover, and a leaf near or past its end.</summary>
    public IReadOnlyList<string> Warnings(IReadOnlyList<string> domains)
    {
        var warnings = domains.Where(d => !Covers(d)).Select(d => $"the certificate does not cover {d}").ToList();
        if (Leaf.NotAfter < DateTime.Now)
        {
            warnings.Add($"the certificate expired on {Leaf.NotAfter:u}");
        }
        return warnings;
    }
}
