using System.Globalization;
using System.Security.Cryptography;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>Spec revisions: stored once, numbered from 1, never changed.</summary>
public sealed class RevisionRepository(ControllerStore store)
{
    /// <summary>Stores a new revision numbered one past the newest, with its <c>spec.applied</c> event, in one transaction.</summary>
    public async Task<RevisionRecord> AddAsync(string author, string message, string specText, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        await store.LockForNumberingAsync(connection, transaction, "revisions", cancellationToken);
        command.CommandText = "SELECT COALESCE(MAX(number), 0) + 1 FROM revisions";
        var number = Convert.ToUInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        var revision = new RevisionRecord
        {
            Number = number,
            Author = author,
            Message = message,
            CreatedAt = DateTimeOffset.UtcNow,
            SpecText = specText,
            SpecSha256 = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(specText))),
        };
        command.CommandText = """
            INSERT INTO revisions (number, author, message, created_ms, spec_text, spec_sha256)
            VALUES (@number, @author, @message, @created, @text, @sha)
            """;
        command.Add("@number", (long)number);
        command.Add("@author", author);
        command.Add("@message", message);
        command.Add("@created", StoreRow.Ms(revision.CreatedAt));
        command.Add("@text", specText);
        command.Add("@sha", revision.SpecSha256);
        await command.ExecuteNonQueryAsync(cancellationToken);
        var appended = (await store.Events.AppendAsync(connection, transaction, new EventRecord
        {
            At = revision.CreatedAt, Kind = "spec.applied", Actor = author, Revision = number,
            Summary = message.Length == 0 ? $"revision {number} stored" : $"revision {number} stored: {message}",
            Details = [$"spec sha256 {revision.SpecSha256}"],
        }, cancellationToken));
        await store.MarkChangedAsync(connection, transaction, ControllerStore.Topics.Desired, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        store.Events.Stored([appended]);
        return revision;
    }

    /// <summary>One revision, or null.</summary>
    public async Task<RevisionRecord?> GetAsync(ulong number, CancellationToken cancellationToken = default) => (await ReadRevisionsAsync("WHERE number = @number", ("@number", (long)number), cancellationToken)).SingleOrDefault();

    /// <summary>The newest revision, or null before the first apply.</summary>
    public async Task<RevisionRecord?> LatestAsync(CancellationToken cancellationToken = default) => (await ListAsync(1, cancellationToken)).SingleOrDefault();

    /// <summary>
    /// The newest revision's number (0 before the first apply), without its spec text: what every agent's connect asks,
    /// and a large fleet's spec is hundreds of kilobytes (revisions never change, so callers keep the text they read once).
    /// </summary>
    public async Task<ulong> LatestNumberAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var command = connection.Command(null, LatestRevisionNumberSql);
        return Convert.ToUInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private const string LatestRevisionNumberSql = "SELECT COALESCE(MAX(number), 0) FROM revisions";

    /// <summary>The newest revisions first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<RevisionRecord>> ListAsync(int limit, CancellationToken cancellationToken = default) => (await ReadRevisionsAsync("ORDER BY number DESC LIMIT @limit", ("@limit", limit), cancellationToken));

    private async Task<List<RevisionRecord>> ReadRevisionsAsync(string clause, (string Name, object Value) parameter, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT number, author, message, created_ms, spec_text, spec_sha256 FROM revisions " + clause;
        command.Add(parameter.Name, parameter.Value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var revisions = new List<RevisionRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            revisions.Add(new RevisionRecord
            {
                Number = (ulong)reader.GetInt64(reader.GetOrdinal("number")),
                Author = reader.GetString(reader.GetOrdinal("author")),
                Message = reader.GetString(reader.GetOrdinal("message")),
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(reader.GetOrdinal("created_ms"))),
                SpecText = reader.GetString(reader.GetOrdinal("spec_text")),
                SpecSha256 = reader.GetString(reader.GetOrdinal("spec_sha256")),
            });
        }
        return revisions;
    }
}
