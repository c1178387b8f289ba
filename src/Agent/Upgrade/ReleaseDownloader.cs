using System.Security.Cryptography;
using Hawser.Agent.Reconcile;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Releases;

namespace Hawser.Agent.Upgrade;

/// <summary>
/// Fetches an agent release over the agent's stream, one chunk at a time (one chunk in memory, whatever the binary's size),
/// into <c>DIRECTORY/hawser-agent-VERSION.part</c>, resuming from where that file ends; only a binary whose signed manifest
/// verifies with the trusted release key, names this architecture, begins with an ELF header for it and hashes to the
/// signed SHA-256 is renamed to <c>hawser-agent-VERSION</c> (written and synced first, so a crash leaves the part or the whole).
/// Nothing is written before the manifest's signature and the first bytes are checked.
/// </summary>
public sealed class ReleaseDownloader(Func<ReleaseRequest, CancellationToken, Task<ReleaseChunk>> request, ReleaseKey? key, string directory)
{
    /// <summary>
    /// How long a release whose whole download did not hash to its signed SHA-256 is not fetched again: the same bytes would
    /// come again (a damaged store), and each try moves the whole binary.
    /// </summary>
    public static readonly TimeSpan RetryMismatchAfter = TimeSpan.FromMinutes(10);

    private readonly Dictionary<string, (string Failure, DateTimeOffset At)> _mismatched = new(StringComparer.Ordinal);

    /// <summary>Downloads and verifies release <paramref name="version"/> for this architecture (see the class); throws with the reason.</summary>
    public async Task<StagedRelease> StageAsync(string version, CancellationToken cancellationToken)
    {
        if (key is null)
        {
            throw new ResourceException("this agent trusts no release key: it was not built by build-release.sh --sign-key, and agent.yaml pins none (releaseKey)");
        }
        if (_mismatched.TryGetValue(version, out var mismatch) && DateTimeOffset.UtcNow - mismatch.At < RetryMismatchAfter)
        {
            throw new ResourceException($"{mismatch.Failure} (fetched again from {(mismatch.At + RetryMismatchAfter).UtcDateTime:yyyy-MM-dd HH:mm}Z)");
        }
        var arch = AgentBuild.Architecture;
        var first = await request(new ReleaseRequest { Version = version, Arch = arch, Offset = 0 }, cancellationToken);
        var manifest = Verify(first, version, arch);
        var staged = Path.Combine(directory, $"hawser-agent-{version}");
        if (File.Exists(staged) && await Sha256Async(staged, cancellationToken) == manifest.Sha256)
        {
            return new StagedRelease(staged, version, manifest.Sha256, manifest.Size);
        }
        Directory.CreateDirectory(directory);
        var part = staged + ".part";
        var chunkSize = (long)first.ChunkSize;
        if (chunkSize <= 0 || first.Data.Length > chunkSize)
        {
            throw new ResourceException($"the controller's answer for release {version} has no usable chunk size");
        }
        await using (var file = new FileStream(part, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 64 * 1024))
        {
            // What an earlier download left, to the last whole chunk: the rest is fetched again.
            var kept = Math.Min(file.Length, manifest.Size) / chunkSize * chunkSize;
            if (kept == 0)
            {
                file.SetLength(0);
                await file.WriteAsync(first.Data.Memory, cancellationToken);
                kept = first.Data.Length;
            }
            file.SetLength(kept);
            file.Position = kept;
            var offset = kept;
            while (offset < manifest.Size)
            {
                var chunk = await request(new ReleaseRequest { Version = version, Arch = arch, Offset = (ulong)offset }, cancellationToken);
                Verify(chunk, version, arch);
                if (chunk.Data.Length == 0 || offset + chunk.Data.Length > manifest.Size)
                {
                    throw new ResourceException($"the controller sent release {version} as {offset + chunk.Data.Length} bytes; its signed manifest says {manifest.Size}");
                }
                await file.WriteAsync(chunk.Data.Memory, cancellationToken);
                offset += chunk.Data.Length;
            }
            await file.FlushAsync(cancellationToken);
            file.Flush(flushToDisk: true);
        }
        var digest = await Sha256Async(part, cancellationToken);
        if (digest != manifest.Sha256)
        {
            File.Delete(part);
            var failure = $"release {version} for {arch}: the bytes received hash to SHA-256 {digest[..16]}…, not the signed {manifest.Sha256[..16]}…; nothing kept";
            _mismatched[version] = (failure, DateTimeOffset.UtcNow);
            throw new ResourceException(failure);
        }
        File.SetUnixFileMode(part, Shared.Releases.ReleaseManifest.ExecutableMode);
        File.Move(part, staged, overwrite: true);
        return new StagedRelease(staged, version, manifest.Sha256, manifest.Size);
    }

    /// <summary>Checks an answer: no error, a manifest signed by the trusted key for this version and architecture, and at offset 0 an ELF header for it.</summary>
    private ReleaseManifest Verify(ReleaseChunk chunk, string version, string arch)
    {
        if (chunk.Error.Length > 0)
        {
            throw new ResourceException($"the controller does not serve release {version} for {arch}: {chunk.Error}");
        }
        ReleaseManifest manifest;
        try
        {
            manifest = key!.VerifyManifest(chunk.Manifest.Span, chunk.Signature.Span);
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            throw new ResourceException($"release {version} for {arch} refused: {ex.Message}; nothing written");
        }
        if (manifest.Version != version || manifest.Architecture != arch)
        {
            throw new ResourceException($"release {version} for {arch} refused: its signed manifest is for {manifest.Version} on {manifest.Architecture}; nothing written");
        }
        if (chunk.Offset == 0 && chunk.Data.Length > 0 && ReleaseManifest.MachineOf(chunk.Data.Span) is var machine && machine != arch)
        {
            throw new ResourceException($"release {version} for {arch} refused: the binary is {machine}; nothing written");
        }
        return manifest;
    }

    private static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
    }
}
