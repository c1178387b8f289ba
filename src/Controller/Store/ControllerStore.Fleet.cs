using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Data;
using System.Data.Common;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

/// <summary>Revisions, join tokens, issued certificates and node reports.</summary>
public sealed partial class ControllerStore
{
    /// <summary>Stores a new revision numbered one past the newest, with its <c>spec.applied</c> event, in one transaction.</summary>
    public async Task<RevisionRecord> AddRevisionAsync(string author, string message, string specText, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        await LockForNumberingAsync(connection, transaction, "revisions", cancellationToken);
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
        command.Add("@created", Time(revision.CreatedAt));
        command.Add("@text", specText);
        command.Add("@sha", revision.SpecSha256);
        await command.ExecuteNonQueryAsync(cancellationToken);
        var appended = (await AppendEventAsync(connection, transaction, new EventRecord
        {
            At = revision.CreatedAt, Kind = "spec.applied", Actor = author, Revision = number,
            Summary = message.Length == 0 ? $"revision {number} stored" : $"revision {number} stored: {message}",
            Details = [$"spec sha256 {revision.SpecSha256}"],
        }, cancellationToken));
        await MarkChangedAsync(connection, transaction, Topics.Desired, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        EventsStored([appended]);
        return revision;
    }

    /// <summary>One revision, or null.</summary>
    public async Task<RevisionRecord?> GetRevisionAsync(ulong number, CancellationToken cancellationToken = default) => (await ReadRevisionsAsync("WHERE number = @number", ("@number", (long)number), cancellationToken)).SingleOrDefault();

    /// <summary>
    /// Sets many nodes' desired revisions and labels in one transaction; with <paramref name="followNewest"/>, also ends every
    /// pin (a plain apply), refused with <see cref="RolloutActiveException"/> while a rollout is active.
    /// </summary>
    public async Task UpdateNodesAsync(IReadOnlyDictionary<string, ulong> desiredRevisions, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> labels, bool followNewest = false, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (followNewest)
        {
            // Not while a rollout moves nodes (one started through another controller since the caller looked):
            // checked under the lock a rollout's start takes, so one of the two waits for the other.
            await LockForNumberingAsync(connection, transaction, "rollouts", cancellationToken);
            await ThrowIfRolloutActiveAsync(connection, transaction, cancellationToken);
            using var unpin = connection.CreateCommand();
            unpin.Transaction = transaction;
            // Only rows with a pin: a row lock on every node would wait for (and hold up) every report being written.
            unpin.CommandText = "UPDATE nodes SET pinned_revision = NULL WHERE pinned_revision IS NOT NULL";
            await unpin.ExecuteNonQueryAsync(cancellationToken);
        }
        await SetPerNodeAsync(connection, transaction, "desired_revision", DbType.Int64, desiredRevisions, number => (long)number, cancellationToken);
        await SetPerNodeAsync(connection, transaction, "labels_json", DbType.String, labels,
            values => JsonSerializer.Serialize(new Dictionary<string, string>(values), StoreJsonContext.Default.DictionaryStringString), cancellationToken);
        await MarkChangedAsync(connection, transaction, Topics.Desired, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>How many nodes one statement of <see cref="SetPerNodeAsync"/> sets (two parameters each, well inside both engines' limits).</summary>
    private const int NodesPerStatement = 500;

    /// <summary>
    /// Sets one column of many nodes, each to its own value, inside <paramref name="transaction"/>: a statement per
    /// <see cref="NodesPerStatement"/> nodes (a fleet of thousands is a few round trips, not one per node).
    /// </summary>
    private static async Task SetPerNodeAsync<T>(DbConnection connection, DbTransaction transaction, string column, DbType type,
        IEnumerable<KeyValuePair<string, T>> values, Func<T, object> toColumn, CancellationToken cancellationToken)
    {
        foreach (var chunk in values.Chunk(NodesPerStatement))
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            var rows = new System.Text.StringBuilder();
            for (var i = 0; i < chunk.Length; i++)
            {
                // SELECT ... UNION ALL rather than VALUES: SQLite cannot name a VALUES list's columns.
                rows.Append(i == 0 ? "SELECT " : " UNION ALL SELECT ").Append(CultureInfo.InvariantCulture, $"@n{i} AS name, @v{i} AS value");
                command.Add($"@n{i}", DbType.String).Value = chunk[i].Key;
                command.Add($"@v{i}", type).Value = toColumn(chunk[i].Value);
            }
            // The column is one of this class's constants, never input. A row that already holds the value is not
            // written: its lock would wait for that node's report being stored.
            command.CommandText = $"""
                UPDATE nodes SET {column} = v.value FROM ({rows}) AS v
                WHERE nodes.name = v.name AND nodes.{column} IS DISTINCT FROM v.value
                """;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Records what an agent said in its hello: version, facts, the revision it has applied.</summary>
    public async Task RecordHelloAsync(string node, string agentVersion, byte[] facts, ulong appliedRevision, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE nodes SET agent_version = @agent, facts = @facts, applied_revision = @applied, last_seen_ms = @now WHERE name = @node";
        command.Add("@node", node);
        command.Add("@agent", agentVersion);
        command.Add("@facts", facts);
        command.Add("@applied", (long)appliedRevision);
        command.Add("@now", Time(DateTimeOffset.UtcNow));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The newest revision, or null before the first apply.</summary>
    public async Task<RevisionRecord?> LatestRevisionAsync(CancellationToken cancellationToken = default) => (await ListRevisionsAsync(1, cancellationToken)).SingleOrDefault();

    /// <summary>
    /// The newest revision's number (0 before the first apply), without its spec text: what every agent's connect asks,
    /// and a large fleet's spec is hundreds of kilobytes (revisions never change, so callers keep the text they read once).
    /// </summary>
    public async Task<ulong> LatestRevisionNumberAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = connection.Command(null, LatestRevisionNumberSql);
        return Convert.ToUInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private const string LatestRevisionNumberSql = "SELECT COALESCE(MAX(number), 0) FROM revisions";

    /// <summary>Stores a join token by id, keeping only the hash of its secret, with its <c>token.created</c> event by <paramref name="actor"/>.</summary>
    public async Task AddJoinTokenAsync(string id, byte[] secretHash, DateTimeOffset expiresAt, int uses, IReadOnlyDictionary<string, string> labels, string actor = "controller", CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO join_tokens (id, secret_hash, created_ms, expires_ms, uses_left, labels_json)
            VALUES (@id, @hash, @created, @expires, @uses, @labels)
            """;
        command.Add("@id", id);
        command.Add("@hash", secretHash);
        command.Add("@created", Time(DateTimeOffset.UtcNow));
        command.Add("@expires", Time(expiresAt));
        command.Add("@uses", uses);
        command.Add("@labels", JsonSerializer.Serialize(new Dictionary<string, string>(labels), StoreJsonContext.Default.DictionaryStringString));
        await command.ExecuteNonQueryAsync(cancellationToken);
        var appended = (await AppendEventAsync(connection, transaction, new EventRecord
        {
            Kind = "token.created", Actor = actor,
            Summary = $"join token {id} created: {uses} use(s), expires {expiresAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z",
            Details = labels.Count == 0 ? [] : [$"labels {string.Join(",", labels.Select(l => $"{l.Key}={l.Value}"))}"],
        }, cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        EventsStored([appended]);
    }

    /// <summary>
    /// Spends one use of a token when its secret's hash matches (compared in constant time) and it
    /// is neither expired, used up nor revoked; returns the token's labels on success. With <paramref name="consume"/>
    /// false it only says whether the token would be accepted, spending nothing.
    /// </summary>
    public async Task<(JoinTokenProblem Problem, IReadOnlyDictionary<string, string> Labels)> ConsumeJoinTokenAsync(string id, byte[] secretHash, DateTimeOffset now, bool consume = true, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
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
    public async Task<bool> RevokeJoinTokenAsync(string id, string actor = "controller", CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE join_tokens SET revoked = 1 WHERE id = @id";
        command.Add("@id", id);
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return false;
        }
        var appended = (await AppendEventAsync(connection, transaction, new EventRecord { Kind = "token.revoked", Actor = actor, Summary = $"join token {id} revoked" }, cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        EventsStored([appended]);
        return true;
    }

    /// <summary>Records a certificate issued to a node, with <paramref name="event"/> (its enrollment or renewal) in the same transaction.</summary>
    public async Task AddCertificateAsync(string serial, string node, DateTimeOffset notAfter, EventRecord? @event = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO certificates (serial, node, issued_ms, not_after_ms) VALUES (@serial, @node, @issued, @notAfter)";
        command.Add("@serial", serial);
        command.Add("@node", node);
        command.Add("@issued", Time(DateTimeOffset.UtcNow));
        command.Add("@notAfter", Time(notAfter));
        await command.ExecuteNonQueryAsync(cancellationToken);
        var appended = @event is null ? null : (await AppendEventAsync(connection, transaction, @event, cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        if (appended is not null)
        {
            EventsStored([appended]);
        }
    }

    /// <summary>True when <paramref name="serial"/> was issued to <paramref name="node"/> and is not revoked.</summary>
    public async Task<bool> IsCertificateValidAsync(string serial, string node, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM certificates WHERE serial = @serial AND node = @node AND revoked_ms IS NULL";
        command.Add("@serial", serial);
        command.Add("@node", node);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0;
    }

    /// <summary>True when <paramref name="node"/> holds a certificate that is neither revoked nor expired.</summary>
    public async Task<bool> HasValidCertificateAsync(string node, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM certificates WHERE node = @node AND revoked_ms IS NULL AND not_after_ms > @now";
        command.Add("@node", node);
        command.Add("@now", Time(DateTimeOffset.UtcNow));
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0;
    }

    /// <summary>Revokes every certificate of <paramref name="node"/> and deletes the node, with its <c>node.removed</c> event by <paramref name="actor"/>; returns how many were revoked.</summary>
    public async Task<int> RemoveNodeAsync(string node, string actor = "controller", CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE certificates SET revoked_ms = @now WHERE node = @node AND revoked_ms IS NULL";
        command.Add("@now", Time(DateTimeOffset.UtcNow));
        command.Add("@node", node);
        var revoked = await command.ExecuteNonQueryAsync(cancellationToken);
        command.CommandText = "DELETE FROM nodes WHERE name = @node";
        await command.ExecuteNonQueryAsync(cancellationToken);
        var appended = (await AppendEventAsync(connection, transaction, new EventRecord
        {
            Kind = "node.removed", Actor = actor, Node = node, Summary = $"node {node} removed; {revoked} certificate(s) revoked",
        }, cancellationToken));
        await MarkChangedAsync(connection, transaction, Topics.Nodes, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        EventsStored([appended]);
        return revoked;
    }

    /// <summary>Sets the revision a node should be at.</summary>
    public async Task SetDesiredRevisionAsync(string node, ulong revision, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE nodes SET desired_revision = @revision WHERE name = @node";
        command.Add("@node", node);
        command.Add("@revision", (long)revision);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Keeps other controllers from numbering a row of <paramref name="table"/> until <paramref name="transaction"/> ends.</summary>
    private async Task LockForNumberingAsync(DbConnection connection, DbTransaction transaction, string table, CancellationToken cancellationToken)
    {
        if (_engine.LockForNumberingSql(table) is { Length: > 0 } sql)
        {
            using var command = connection.Command(transaction, sql);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

}
