using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>Join tokens and the certificates issued to nodes when they enroll.</summary>
public sealed class EnrollmentRepository(ControllerStore store)
{
    /// <summary>Stores a join token by id, keeping only the hash of its secret, with its <c>token.created</c> event by <paramref name="actor"/>.</summary>
    public async Task AddTokenAsync(string id, byte[] secretHash, DateTimeOffset expiresAt, int uses, IReadOnlyDictionary<string, string> labels, string actor = "controller", CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO join_tokens (id, secret_hash, created_ms, expires_ms, uses_left, labels_json)
            VALUES (@id, @hash, @created, @expires, @uses, @labels)
            """;
        command.Add("@id", id);
        command.Add("@hash", secretHash);
        command.Add("@created", StoreRow.Ms(DateTimeOffset.UtcNow));
        command.Add("@expires", StoreRow.Ms(expiresAt));
        command.Add("@uses", uses);
        command.Add("@labels", JsonSerializer.Serialize(new Dictionary<string, string>(labels), StoreJsonContext.Default.DictionaryStringString));
        await command.ExecuteNonQueryAsync(cancellationToken);
        var appended = (await store.Events.AppendAsync(connection, transaction, new EventRecord
        {
            Kind = "token.created", Actor = actor,
            Summary = $"join token {id} created: {uses} use(s), expires {expiresAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z",
            Details = labels.Count == 0 ? [] : [$"labels {string.Join(",", labels.Select(l => $"{l.Key}={l.Value}"))}"],
        }, cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        store.Events.Stored([appended]);
    }

    /// <summary>
    /// Spends one use of a token when its secret's hash matches (compared in constant time) and it
    /// is neither expired, used up nor revoked; returns the token's labels on success. With <paramref name="consume"/>
    /// false it only says whether the token would be accepted, spending nothing.
    /// </summary>
    public async Task<(JoinTokenProblem Problem, IReadOnlyDictionary<string, string> Labels)> ConsumeTokenAsync(string id, byte[] secretHash, DateTimeOffset now, bool consume = true, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.Command(transaction, "SELECT secret_hash, expires_ms, uses_left, labels_json, revoked FROM join_tokens WHERE id = @id");
        command.Add("@id", id);
        byte[] stored;
        DateTimeOffset expires;
        long usesLeft;
        string labelsJson;
        bool revoked;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return (JoinTokenProblem.Unknown, new Dictionary<string, string>());
            }
            stored = (byte[])reader["secret_hash"];
            expires = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(reader.GetOrdinal("expires_ms")));
            usesLeft = reader.GetInt64(reader.GetOrdinal("uses_left"));
            labelsJson = reader.GetString(reader.GetOrdinal("labels_json"));
            revoked = reader.GetInt64(reader.GetOrdinal("revoked")) != 0;
        }
        var problem = !CryptographicOperations.FixedTimeEquals(stored, secretHash) ? JoinTokenProblem.Unknown
            : revoked ? JoinTokenProblem.Revoked
            : expires <= now ? JoinTokenProblem.Expired
            : usesLeft <= 0 ? JoinTokenProblem.UsedUp
            : JoinTokenProblem.None;
        if (problem != JoinTokenProblem.None || !consume)
        {
            return (problem, new Dictionary<string, string>());
        }
        // The use is spent only while one is left: with several controllers, the last use of a token
        // presented to two of them at once goes to one (the other's update waits, then matches no row).
        command.CommandText = "UPDATE join_tokens SET uses_left = uses_left - 1 WHERE id = @id AND uses_left > 0 AND revoked = 0";
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return (JoinTokenProblem.UsedUp, new Dictionary<string, string>());
        }
        await transaction.CommitAsync(cancellationToken);
        return (JoinTokenProblem.None, JsonSerializer.Deserialize(labelsJson, StoreJsonContext.Default.DictionaryStringString) ?? []);
    }

    /// <summary>Revokes a join token by id, with its <c>token.revoked</c> event by <paramref name="actor"/>; false when there is none.</summary>
    public async Task<bool> RevokeTokenAsync(string id, string actor = "controller", CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE join_tokens SET revoked = 1 WHERE id = @id";
        command.Add("@id", id);
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return false;
        }
        var appended = (await store.Events.AppendAsync(connection, transaction, new EventRecord { Kind = "token.revoked", Actor = actor, Summary = $"join token {id} revoked" }, cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        store.Events.Stored([appended]);
        return true;
    }

    /// <summary>Records a certificate issued to a node, with <paramref name="event"/> (its enrollment or renewal) in the same transaction.</summary>
    public async Task AddCertificateAsync(string serial, string node, DateTimeOffset notAfter, EventRecord? @event = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO certificates (serial, node, issued_ms, not_after_ms) VALUES (@serial, @node, @issued, @notAfter)";
        command.Add("@serial", serial);
        command.Add("@node", node);
        command.Add("@issued", StoreRow.Ms(DateTimeOffset.UtcNow));
        command.Add("@notAfter", StoreRow.Ms(notAfter));
        await command.ExecuteNonQueryAsync(cancellationToken);
        var appended = @event is null ? null : (await store.Events.AppendAsync(connection, transaction, @event, cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        if (appended is not null)
        {
            store.Events.Stored([appended]);
        }
    }

    /// <summary>True when <paramref name="serial"/> was issued to <paramref name="node"/> and is not revoked.</summary>
    public async Task<bool> IsCertificateValidAsync(string serial, string node, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM certificates WHERE serial = @serial AND node = @node AND revoked_ms IS NULL";
        command.Add("@serial", serial);
        command.Add("@node", node);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0;
    }

    /// <summary>True when <paramref name="node"/> holds a certificate that is neither revoked nor expired.</summary>
    public async Task<bool> HasValidCertificateAsync(string node, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM certificates WHERE node = @node AND revoked_ms IS NULL AND not_after_ms > @now";
        command.Add("@node", node);
        command.Add("@now", StoreRow.Ms(DateTimeOffset.UtcNow));
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0;
    }
}
