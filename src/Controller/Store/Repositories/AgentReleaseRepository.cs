using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>
/// Published agent releases: a row per version and architecture, and the binary in chunks beside it, so every controller
/// sharing the store serves the same bytes. A version and architecture is published once; publishing the same bytes
/// again changes nothing.
/// </summary>
public sealed class AgentReleaseRepository(ControllerStore store)
{
    /// <summary>The size of a stored chunk (and so of the most a download reads from the store at once).</summary>
    public const int ChunkBytes = 256 * 1024;

    /// <summary>
    /// Stores <paramref name="release"/> with its binary read from <paramref name="binary"/> (already checked against the
    /// manifest's SHA-256); returns false when the same release was already stored, and throws when another binary was.
    /// </summary>
    public async Task<bool> AddAsync(AgentReleaseRecord release, Stream binary, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using (var existing = connection.Command(transaction, "SELECT sha256 FROM agent_releases WHERE version = @version AND arch = @arch"))
        {
            existing.Add("@version", release.Version);
            existing.Add("@arch", release.Architecture);
            if (await existing.ExecuteScalarAsync(cancellationToken) is string sha)
            {
                return sha == release.Sha256 ? false
                    : throw new InvalidOperationException($"release {release.Version} for {release.Architecture} is already published with another binary (SHA-256 {sha[..16]}…); publish a new version instead");
            }
        }
        using (var insert = connection.Command(transaction,
            "INSERT INTO agent_releases (version, arch, size, sha256, manifest, signature, key, published_ms, published_by) " +
            "VALUES (@version, @arch, @size, @sha, @manifest, @signature, @key, @at, @by)"))
        {
            insert.Add("@version", release.Version);
            insert.Add("@arch", release.Architecture);
            insert.Add("@size", release.Size);
            insert.Add("@sha", release.Sha256);
            insert.Add("@manifest", release.Manifest);
            insert.Add("@signature", release.Signature);
            insert.Add("@key", release.KeyFingerprint);
            insert.Add("@at", release.PublishedAt.ToUnixTimeMilliseconds());
            insert.Add("@by", release.PublishedBy);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        var buffer = new byte[ChunkBytes];
        for (var seq = 0L; ; seq++)
        {
            var read = await binary.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            if (read == 0)
            {
                break;
            }
            using var chunk = connection.Command(transaction, "INSERT INTO agent_release_chunks (version, arch, seq, data) VALUES (@version, @arch, @seq, @data)");
            chunk.Add("@version", release.Version);
            chunk.Add("@arch", release.Architecture);
            chunk.Add("@seq", seq);
            chunk.Add("@data", buffer.AsSpan(0, read).ToArray());
            await chunk.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Every stored release, newest version first (by publication), then by architecture.</summary>
    public Task<IReadOnlyList<AgentReleaseRecord>> ListAsync(CancellationToken cancellationToken = default) =>
        ReadAsync("ORDER BY published_ms DESC, version, arch", null, null, cancellationToken);

    /// <summary>The release of <paramref name="version"/> for <paramref name="architecture"/>, or null when none is published.</summary>
    public async Task<AgentReleaseRecord?> GetAsync(string version, string architecture, CancellationToken cancellationToken = default) =>
        (await ReadAsync("WHERE version = @version AND arch = @arch", version, architecture, cancellationToken)).SingleOrDefault();

    // One row read for each chunk a node asks for: by its key, not the whole table.
    private async Task<IReadOnlyList<AgentReleaseRecord>> ReadAsync(string clause, string? version, string? architecture, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null,
            "SELECT version, arch, size, sha256, manifest, signature, key, published_ms, published_by FROM agent_releases " + clause);
        if (version is not null)
        {
            command.Add("@version", version);
            command.Add("@arch", architecture!);
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var releases = new List<AgentReleaseRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new StoreRow(reader);
            releases.Add(new AgentReleaseRecord(row.Text("version"), row.Text("arch"), row.Number("size"), row.Text("sha256"), row.BytesOrNull("manifest")!,
                row.BytesOrNull("signature")!, row.Text("key"), DateTimeOffset.FromUnixTimeMilliseconds(row.Number("published_ms")), row.Text("published_by")));
        }
        return releases;
    }

    /// <summary>Chunk <paramref name="seq"/> of a release's binary, or null past its end.</summary>
    public async Task<byte[]?> ChunkAsync(string version, string architecture, long seq, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "SELECT data FROM agent_release_chunks WHERE version = @version AND arch = @arch AND seq = @seq");
        command.Add("@version", version);
        command.Add("@arch", architecture);
        command.Add("@seq", seq);
        return await command.ExecuteScalarAsync(cancellationToken) as byte[];
    }
}
