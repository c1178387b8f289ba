using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>
/// The web UI's sign-ins: ASP.NET Core authentication tickets by the hash of their key (the key, inside the protected cookie,
/// is the browser's secret), and the sealed keys that protect cookies and antiforgery tokens, so a sign-in on one controller
/// holds on every controller sharing the store, and a restart signs nobody out.
/// </summary>
public sealed class WebSessionRepository(ControllerStore store)
{
    /// <summary>Stores (or replaces) a ticket, and drops tickets that have expired.</summary>
    public async Task SaveAsync(string keySha256, string who, byte[] ticket, DateTimeOffset expires, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.Command(transaction, "DELETE FROM web_tickets WHERE expires_ms < @now OR key_sha256 = @key");
        command.Add("@now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        command.Add("@key", keySha256);
        await command.ExecuteNonQueryAsync(cancellationToken);
        command.CommandText = "INSERT INTO web_tickets (key_sha256, who, ticket, expires_ms) VALUES (@key, @who, @ticket, @expires)";
        command.Add("@who", who);
        command.Add("@ticket", ticket);
        command.Add("@expires", expires.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The live ticket stored under <paramref name="keySha256"/>, or null.</summary>
    public async Task<byte[]?> FindAsync(string keySha256, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "SELECT ticket FROM web_tickets WHERE key_sha256 = @key AND expires_ms > @now");
        command.Add("@key", keySha256);
        command.Add("@now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new StoreRow(reader).BytesOrNull("ticket") : null;
    }

    /// <summary>Ends a sign-in.</summary>
    public async Task DeleteAsync(string keySha256, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "DELETE FROM web_tickets WHERE key_sha256 = @key");
        command.Add("@key", keySha256);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Ends every sign-in of <paramref name="who"/>; returns how many.</summary>
    public async Task<int> DeleteOfAsync(string who, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "DELETE FROM web_tickets WHERE who = @who");
        command.Add("@who", who);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Every stored protection key (sealed), by name. Synchronous: ASP.NET Core's key ring asks for them so.</summary>
    public IReadOnlyList<(string Name, byte[] Sealed)> ProtectionKeys()
    {
        using var connection = store.OpenConnection();
        using var command = connection.Command(null, "SELECT name, sealed FROM data_protection_keys ORDER BY name");
        using var reader = command.ExecuteReader();
        var keys = new List<(string, byte[])>();
        while (reader.Read())
        {
            var row = new StoreRow(reader);
            keys.Add((row.Text("name"), row.BytesOrNull("sealed")!));
        }
        return keys;
    }

    /// <summary>Stores a new protection key (sealed); one that exists by name is kept (keys never change once made).</summary>
    public void AddProtectionKey(string name, byte[] sealedXml)
    {
        using var connection = store.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using var command = connection.Command(transaction, "SELECT COUNT(*) FROM data_protection_keys WHERE name = @name");
        command.Add("@name", name);
        if (Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            command.CommandText = "INSERT INTO data_protection_keys (name, sealed) VALUES (@name, @sealed)";
            command.Add("@sealed", sealedXml);
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }
}
