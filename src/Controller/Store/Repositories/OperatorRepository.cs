using System.Data.Common;
using System.Security.Cryptography;
using System.Text.Json;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>
/// Operators (people and machines that steer the fleet), their certificates and their one-use enrollment tokens. Every
/// change is stored with its event in one transaction; every controller sharing the store reads them on each call, so a
/// revocation holds everywhere at once.
/// </summary>
public sealed class OperatorRepository(ControllerStore store)
{
    private const string Columns = "name, role, selector_json, created_ms, revoked_ms, legacy_before_ms";
    private const string QualifiedColumns = "o.name, o.role, o.selector_json, o.created_ms, o.revoked_ms, o.legacy_before_ms";

    /// <summary>The operator named <paramref name="name"/>, revoked or not; null when there is none.</summary>
    public async Task<OperatorRecord?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        return await GetAsync(connection, null, name, cancellationToken);
    }

    /// <summary>Every operator, by name, with how many live certificates each holds.</summary>
    public async Task<IReadOnlyList<(OperatorRecord Operator, int Certificates, DateTimeOffset? NotAfter)>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, $"""
            SELECT {Columns},
                   (SELECT COUNT(*) FROM operator_certificates c WHERE c.operator = o.name AND c.revoked_ms IS NULL AND c.not_after_ms > @now) AS live,
                   (SELECT MAX(not_after_ms) FROM operator_certificates c WHERE c.operator = o.name AND c.revoked_ms IS NULL) AS not_after_ms
            FROM operators o ORDER BY name
            """);
        command.Add("@now", StoreRow.Ms(DateTimeOffset.UtcNow));
        var list = new List<(OperatorRecord, int, DateTimeOffset?)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new StoreRow(reader);
            list.Add((Read(row), (int)row.Number("live"), row.TimeOrNull("not_after_ms")));
        }
        return list;
    }

    /// <summary>
    /// Adds an operator with a one-use enrollment token (by the hash of its secret), or gives a revoked one's name to a new
    /// operator; false when a live operator has that name. The <c>operator.added</c> event names <paramref name="actor"/>.
    /// </summary>
    public async Task<bool> AddAsync(OperatorRecord record, string tokenId, byte[] secretHash, DateTimeOffset tokenExpires, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await GetAsync(connection, transaction, record.Name, cancellationToken) is { } existing)
        {
            if (existing.RevokedAt is null)
            {
                return false;
            }
            using var delete = connection.Command(transaction, "DELETE FROM operators WHERE name = @name");
            delete.Add("@name", record.Name);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        using var command = connection.Command(transaction, """
            INSERT INTO operators (name, role, selector_json, created_ms) VALUES (@name, @role, @selector, @created)
            """);
        command.Add("@name", record.Name);
        command.Add("@role", RoleWord(record.Role));
        command.Add("@selector", JsonSerializer.Serialize(new Dictionary<string, string>(record.Selector), StoreJsonContext.Default.DictionaryStringString));
        command.Add("@created", StoreRow.Ms(record.CreatedAt));
        await command.ExecuteNonQueryAsync(cancellationToken);
        await AddTokenAsync(connection, transaction, record.Name, tokenId, secretHash, tokenExpires, cancellationToken);
        await CommitWithEventAsync(connection, transaction, new EventRecord
        {
            Kind = "operator.added", Actor = actor,
            Summary = $"operator {record.Name} added as {RoleWord(record.Role)} of {record.Scope}",
            Details = [$"enrollment token {tokenId} expires {tokenExpires.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z"],
        }, cancellationToken);
        return true;
    }

    /// <summary>
    /// Revokes every certificate of a live operator and gives it a new one-use enrollment token (earlier tokens end); false
    /// when there is no live operator of that name.
    /// </summary>
    public async Task<bool> ReissueAsync(string name, string tokenId, byte[] secretHash, DateTimeOffset tokenExpires, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await GetAsync(connection, transaction, name, cancellationToken) is not { RevokedAt: null })
        {
            return false;
        }
        await RevokeCredentialsAsync(connection, transaction, name, keep: null, cancellationToken);
        await AddTokenAsync(connection, transaction, name, tokenId, secretHash, tokenExpires, cancellationToken);
        await CommitWithEventAsync(connection, transaction, new EventRecord
        {
            Kind = "operator.rotated", Actor = actor,
            Summary = $"operator {name}'s certificates revoked; a new enrollment token was made",
            Details = [$"enrollment token {tokenId} expires {tokenExpires.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z"],
        }, cancellationToken);
        return true;
    }

    /// <summary>Revokes an operator, its certificates and its tokens; false when there is no live operator of that name.</summary>
    public async Task<bool> RevokeAsync(string name, string actor, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.Command(transaction, "UPDATE operators SET revoked_ms = @now, legacy_before_ms = NULL WHERE name = @name AND revoked_ms IS NULL");
        command.Add("@now", StoreRow.Ms(DateTimeOffset.UtcNow));
        command.Add("@name", name);
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return false;
        }
        await RevokeCredentialsAsync(connection, transaction, name, keep: null, cancellationToken);
        await CommitWithEventAsync(connection, transaction, new EventRecord
        {
            Kind = "operator.revoked", Actor = actor, Summary = $"operator {name} revoked: its certificates and tokens are refused from now on",
        }, cancellationToken);
        return true;
    }

    /// <summary>
    /// Spends an operator enrollment token when its secret's hash matches (in constant time) and it is unused, unexpired and
    /// its operator live; returns the operator it enrolls.
    /// </summary>
    public async Task<(OperatorTokenProblem Problem, OperatorRecord? Operator)> ConsumeTokenAsync(string id, byte[] secretHash, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.Command(transaction, "SELECT operator, secret_hash, expires_ms, used_ms, revoked FROM operator_tokens WHERE id = @id");
        command.Add("@id", id);
        string name;
        OperatorTokenProblem problem;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return (OperatorTokenProblem.Unknown, null);
            }
            var row = new StoreRow(reader);
            name = row.Text("operator");
            problem = !CryptographicOperations.FixedTimeEquals(row.BytesOrNull("secret_hash"), secretHash) ? OperatorTokenProblem.Unknown
                : row.Flag("revoked") ? OperatorTokenProblem.Revoked
                : row.NumberOrNull("used_ms") is not null ? OperatorTokenProblem.Used
                : row.Time("expires_ms") <= now ? OperatorTokenProblem.Expired
                : OperatorTokenProblem.None;
        }
        var record = await GetAsync(connection, transaction, name, cancellationToken);
        if (problem == OperatorTokenProblem.None && record is not { RevokedAt: null })
        {
            problem = OperatorTokenProblem.Revoked;
        }
        if (problem != OperatorTokenProblem.None)
        {
            return (problem, null);
        }
        // Spent only while unused: the same token presented to two controllers at once enrolls once.
        command.CommandText = "UPDATE operator_tokens SET used_ms = @now WHERE id = @id AND used_ms IS NULL AND revoked = 0";
        command.Add("@now", StoreRow.Ms(now));
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return (OperatorTokenProblem.Used, null);
        }
        await transaction.CommitAsync(cancellationToken);
        return (OperatorTokenProblem.None, record);
    }

    /// <summary>
    /// Records a certificate issued to a live operator, with <paramref name="event"/>; with <paramref name="replacesOthers"/>
    /// (a rotation) every other certificate of it is revoked in the same transaction. False when the operator is not live.
    /// </summary>
    public async Task<bool> AddCertificateAsync(string serial, string name, DateTimeOffset notAfter, bool replacesOthers, EventRecord? @event, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await GetAsync(connection, transaction, name, cancellationToken) is not { RevokedAt: null })
        {
            return false;
        }
        if (replacesOthers)
        {
            await RevokeCredentialsAsync(connection, transaction, name, keep: serial, cancellationToken);
        }
        using var command = connection.Command(transaction, "INSERT INTO operator_certificates (serial, operator, issued_ms, not_after_ms) VALUES (@serial, @name, @issued, @notAfter)");
        command.Add("@serial", serial);
        command.Add("@name", name);
        command.Add("@issued", StoreRow.Ms(DateTimeOffset.UtcNow));
        command.Add("@notAfter", StoreRow.Ms(notAfter));
        await command.ExecuteNonQueryAsync(cancellationToken);
        await CommitWithEventAsync(connection, transaction, @event, cancellationToken);
        return true;
    }

    /// <summary>
    /// The live operator a certificate with <paramref name="serial"/> and common name <paramref name="name"/>, valid from
    /// <paramref name="notBefore"/>, belongs to; otherwise null and why, in words an operator can act on.
    /// </summary>
    public async Task<(OperatorRecord? Operator, string? Problem)> ResolveAsync(string serial, string name, DateTimeOffset notBefore, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, $"""
            SELECT {QualifiedColumns}, c.revoked_ms AS certificate_revoked_ms, c.serial AS certificate
            FROM operators o LEFT JOIN operator_certificates c ON c.operator = o.name AND c.serial = @serial
            WHERE o.name = @name
            """);
        command.Add("@serial", serial);
        command.Add("@name", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return (null, $"there is no operator named '{name}'");
        }
        var row = new StoreRow(reader);
        var record = Read(row);
        if (record.RevokedAt is { } revoked)
        {
            return (null, $"operator '{name}' was revoked at {revoked.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z");
        }
        if (row.TextOrNull("certificate") is null)
        {
            // Before operators existed every controller's init made an admin credential the store never heard of.
            return record.LegacyBefore is { } before && notBefore < before ? (record, null)
                : (null, $"certificate {serial} is not one of operator '{name}''s (rotated?); `hawserctl operator rotate {name}` makes a new one");
        }
        return row.TimeOrNull("certificate_revoked_ms") is { } at
            ? (null, $"operator '{name}''s certificate {serial} was revoked at {at.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z (rotated)")
            : (record, null);
    }

    /// <summary>An operator's role as stored and shown.</summary>
    public static string RoleWord(OperatorRole role) => role.ToString().ToLowerInvariant();

    /// <summary>The role named <paramref name="word"/> (<c>viewer</c>, <c>operator</c>, <c>admin</c>), or null.</summary>
    public static OperatorRole? ParseRole(string? word) => word switch
    {
        "viewer" => OperatorRole.Viewer,
        "operator" => OperatorRole.Operator,
        "admin" => OperatorRole.Admin,
        _ => null,
    };

    private static async Task<OperatorRecord?> GetAsync(DbConnection connection, DbTransaction? transaction, string name, CancellationToken cancellationToken)
    {
        using var command = connection.Command(transaction, $"SELECT {Columns} FROM operators WHERE name = @name");
        command.Add("@name", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(new StoreRow(reader)) : null;
    }

    private static OperatorRecord Read(StoreRow row) => new()
    {
        Name = row.Text("name"),
        // Fails closed: a role this build does not know (written by a newer one) is no more than a viewer.
        Role = ParseRole(row.Text("role")) ?? OperatorRole.Viewer,
        Selector = JsonSerializer.Deserialize(row.Text("selector_json"), StoreJsonContext.Default.DictionaryStringString) ?? [],
        CreatedAt = row.Time("created_ms"),
        RevokedAt = row.TimeOrNull("revoked_ms"),
        LegacyBefore = row.TimeOrNull("legacy_before_ms"),
    };

    private static async Task AddTokenAsync(DbConnection connection, DbTransaction transaction, string name, string id, byte[] secretHash, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        using var command = connection.Command(transaction, """
            INSERT INTO operator_tokens (id, operator, secret_hash, created_ms, expires_ms) VALUES (@id, @name, @hash, @created, @expires)
            """);
        command.Add("@id", id);
        command.Add("@name", name);
        command.Add("@hash", secretHash);
        command.Add("@created", StoreRow.Ms(DateTimeOffset.UtcNow));
        command.Add("@expires", StoreRow.Ms(expires));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Revokes an operator's certificates (but <paramref name="keep"/>), its unused tokens, and the credentials made before operators existed.</summary>
    private static async Task RevokeCredentialsAsync(DbConnection connection, DbTransaction transaction, string name, string? keep, CancellationToken cancellationToken)
    {
        foreach (var sql in (string[])[
            "UPDATE operator_certificates SET revoked_ms = @now WHERE operator = @name AND revoked_ms IS NULL AND serial <> @keep",
            "UPDATE operator_tokens SET revoked = 1 WHERE operator = @name AND used_ms IS NULL",
            "UPDATE operators SET legacy_before_ms = NULL WHERE name = @name"])
        {
            using var command = connection.Command(transaction, sql);
            command.Add("@name", name);
            // Each statement gets only the parameters it names.
            if (sql.Contains("@now", StringComparison.Ordinal))
            {
                command.Add("@now", StoreRow.Ms(DateTimeOffset.UtcNow));
            }
            if (sql.Contains("@keep", StringComparison.Ordinal))
            {
                command.Add("@keep", keep ?? "");
            }
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private async Task CommitWithEventAsync(DbConnection connection, DbTransaction transaction, EventRecord? @event, CancellationToken cancellationToken)
    {
        var appended = @event is null ? null : await store.Events.AppendAsync(connection, transaction, @event, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (appended is not null)
        {
            store.Events.Stored([appended]);
        }
    }
}
