using System.Security.Cryptography;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Releases;

namespace Hawser.Controller.Api;

/// <summary>
/// PublishAgentRelease and ListAgentReleases: agent binaries the controller will hand to its agents. Nothing is believed
/// before the manifest's signature verifies with the release key; the binary is spooled to the data directory while its
/// SHA-256 is computed (bounded by the signed size), checked against the manifest and its ELF machine against the
/// architecture, and only then stored.
/// </summary>
public sealed class AgentReleasesApi(ControllerStore store, ReleaseKey? key, string dataDirectory)
{
    /// <summary>The largest chunk an upload may send.</summary>
    public const int MaxChunkBytes = 1024 * 1024;

    /// <summary>Stores one architecture's agent of a release, or refuses it saying why.</summary>
    public async Task<AgentRelease> PublishAsync(IAsyncStreamReader<AgentReleaseUpload> uploads, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        if (!await uploads.MoveNext(cancellationToken) || uploads.Current.BodyCase != AgentReleaseUpload.BodyOneofCase.Header)
        {
            throw ApiError.Of(StatusCode.InvalidArgument, "an upload starts with the release's manifest and signature");
        }
        var header = uploads.Current.Header;
        if (key is null)
        {
            throw ApiError.Of(StatusCode.FailedPrecondition,
                "this controller trusts no release key: start it with --release-key (the public half of the key build-release.sh signed with)");
        }
        ReleaseManifest manifest;
        try
        {
            manifest = key.VerifyManifest(header.Manifest.Span, header.Signature.Span);
        }
        catch (CryptographicException ex)
        {
            throw ApiError.Of(StatusCode.PermissionDenied, $"{ex.Message}: not stored");
        }
        catch (FormatException ex)
        {
            throw ApiError.Of(StatusCode.InvalidArgument, $"the signed manifest is not one this controller reads: {ex.Message}");
        }
        var spool = Path.Combine(dataDirectory, $"agent-release-{Guid.NewGuid():N}.upload");
        try
        {
            await using (var file = new FileStream(spool, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.DeleteOnClose))
            {
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                long size = 0;
                var elf = new byte[20];
                while (await uploads.MoveNext(cancellationToken))
                {
                    var chunk = uploads.Current.BodyCase == AgentReleaseUpload.BodyOneofCase.Chunk ? uploads.Current.Chunk
                        : throw ApiError.Of(StatusCode.InvalidArgument, "after the header an upload sends only the binary's chunks");
                    if (chunk.Length > MaxChunkBytes || size + chunk.Length > manifest.Size)
                    {
                        throw ApiError.Of(StatusCode.InvalidArgument, chunk.Length > MaxChunkBytes
                            ? $"a chunk has at most {MaxChunkBytes} bytes"
                            : $"the binary is longer than the {manifest.Size} bytes its signed manifest says: not stored");
                    }
                    if (size < elf.Length)
                    {
                        chunk.Span[..(int)Math.Min(chunk.Length, elf.Length - size)].CopyTo(elf.AsSpan((int)size));
                    }
                    sha.AppendData(chunk.Span);
                    await file.WriteAsync(chunk.Memory, cancellationToken);
                    size += chunk.Length;
                }
                var digest = Convert.ToHexStringLower(sha.GetHashAndReset());
                if (size != manifest.Size || digest != manifest.Sha256)
                {
                    throw ApiError.Of(StatusCode.InvalidArgument,
                        $"the binary sent is {size} bytes with SHA-256 {digest[..16]}…; the signed manifest says {manifest.Size} bytes, {manifest.Sha256[..16]}…: not stored");
                }
                if (ReleaseManifest.MachineOf(elf) is var machine && machine != manifest.Architecture)
                {
                    throw ApiError.Of(StatusCode.InvalidArgument, $"the binary is {machine}, but its manifest says {manifest.Architecture}: not stored");
                }
                file.Position = 0;
                var record = new AgentReleaseRecord(manifest.Version, manifest.Architecture, manifest.Size, manifest.Sha256, header.Manifest.ToByteArray(),
                    header.Signature.ToByteArray(), key.Fingerprint, DateTimeOffset.UtcNow, CallerIdentity.Of(context).Name);
                bool added;
                try
                {
                    added = await store.AgentReleases.AddAsync(record, file, cancellationToken);
                }
                catch (InvalidOperationException ex)
                {
                    throw ApiError.Of(StatusCode.AlreadyExists, ex.Message);
                }
                if (added)
                {
                    await store.Events.AddAsync(new EventRecord
                    {
                        Kind = "agent.release-published", Actor = record.PublishedBy,
                        Summary = $"agent release {record.Version} for {record.Architecture} published ({record.Size} bytes, SHA-256 {record.Sha256[..16]}…, key {record.KeyFingerprint})",
                    });
                }
                var message = Message(record);
                message.AlreadyPublished = !added;
                return message;
            }
        }
        finally
        {
            File.Delete(spool);
        }
    }

    /// <summary>Every published release.</summary>
    public async Task<ListAgentReleasesResponse> ListAsync(CancellationToken cancellationToken) =>
        new() { Releases = { (await store.AgentReleases.ListAsync(cancellationToken)).Select(Message) } };

    private static AgentRelease Message(AgentReleaseRecord record) => new()
    {
        Version = record.Version, Arch = record.Architecture, Size = (ulong)record.Size, Sha256 = record.Sha256, Key = record.KeyFingerprint,
        PublishedAt = Timestamp.FromDateTimeOffset(record.PublishedAt), PublishedBy = record.PublishedBy,
    };
}
