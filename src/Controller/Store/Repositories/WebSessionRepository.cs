using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>The web UI's sessions (by the hash of their id), so a login works on every controller.</summary>
public sealed class WebSessionRepository(ControllerStore store)
{
    /// <summary>Stores a web session by the hash of its id (the id itself is the bearer secret, kept only by the browser).</summary>
    public async Task SaveAsync(string idSha256, string csrf, string who, DateTimeOffset expires, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.Command(transaction, "DELETE FROM web_sessions WHERE expires_ms < @now");
        command.Add("@now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
        command.CommandText = "INSERT INTO web_sessions (id_sha256, csrf, who, expires_ms) VALUES (@id, @csrf, @who, @expires)";
        command.Add("@id", idSha256);
        command.Add("@csrf", csrf);
        command.Add("@who", who);
        command.Add("@expires", expires.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The live session stored under <paramref name="idSha256"/>: its CSRF token, who, and until when; null when none.</summary>
    public async Task<(string Csrf, string Who, DateTimeOffset Expires)?> FindAsync(string idSha256, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "SELECT csrf, who, expires_ms FROM web_sessions WHERE id_sha256 = @id AND expires_ms > @now");
        command.Add("@id", idSha256);
        command.Add("@now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) && new StoreRow(reader) is var row ? (row.Text("csrf"), row.Text("who"), row.Time("expires_ms")) : null;
    }

    /// <summary>Ends a web session.</summary>
    public async Task DeleteAsync(string idSha256, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "DELETE FROM web_sessions WHERE id_sha256 = @id");
        command.Add("@id", idSha256);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Ends every web session logged in as <paramref name="who"/> (all made with one admin token); returns how many.</summary>
    public async Task<int> DeleteOfAsync(string who, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "DELETE FROM web_sessions WHERE who = @who");
        command.Add("@who", who);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
