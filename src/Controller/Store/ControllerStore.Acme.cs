using System.Globalization;
using System.Data;
using System.Data.Common;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

/// <summary>The ACME account (one per CA directory) and the certificates obtained with it.</summary>
public sealed partial class ControllerStore
{
    /// <summary>The account for <paramref name="directory"/>: its sealed key and URL, or null.</summary>
    public async Task<(byte[] KeySealed, Uri Url)?> GetAcmeAccountAsync(Uri directory, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT key_sealed, url FROM acme_accounts WHERE directory = @directory";
        command.Add("@directory", directory.ToString());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ((byte[])reader[0], new Uri(reader.GetString(1))) : null;
    }

    /// <summary>Records the account for <paramref name="directory"/> (a key rollover replaces the key).</summary>
    public async Task SaveAcmeAccountAsync(Uri directory, byte[] keySealed, Uri url, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO acme_accounts (directory, key_sealed, url, created_ms) VALUES (@directory, @key, @url, @now)
            ON CONFLICT(directory) DO UPDATE SET key_sealed = @key, url = @url
            """;
        command.Add("@directory", directory.ToString());
        command.Add("@key", keySealed);
        command.Add("@url", url.ToString());
        command.Add("@now", Time(DateTimeOffset.UtcNow));
        await command.ExecuteNonQueryAsync(cancellationToken);
        await MarkChangedAsync(connection, transaction, Topics.Certificates, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Every certificate the controller manages, by name.</summary>
    public async Task<IReadOnlyList<IssuedCertificateRecord>> ListIssuedCertificatesAsync(CancellationToken cancellationToken = default) => (await ReadIssuedAsync("ORDER BY name", null, cancellationToken));

    /// <summary>One certificate, or null.</summary>
    public async Task<IssuedCertificateRecord?> GetIssuedCertificateAsync(string name, CancellationToken cancellationToken = default) => (await ReadIssuedAsync("WHERE name = @name", name, cancellationToken)).SingleOrDefault();

    /// <summary>
    /// Stores a certificate just obtained, clearing the last error, with its <c>certificate.issued</c> event; with
    /// <paramref name="lease"/>, refused (<see cref="LeaseLostException"/>) unless the lease on its order is still held.
    /// </summary>
    public async Task SaveIssuedCertificateAsync(IssuedCertificateRecord record, StoreLease? lease = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await CheckFenceAsync(connection, transaction, lease, cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO issued_certificates (name, domains, chain_pem, key_sealed, serial, not_before_ms, not_after_ms, issued_ms, last_error, last_attempt_ms)
            VALUES (@name, @domains, @chain, @key, @serial, @notBefore, @notAfter, @now, NULL, @now)
            ON CONFLICT(name) DO UPDATE SET domains = @domains, chain_pem = @chain, key_sealed = @key, serial = @serial,
                not_before_ms = @notBefore, not_after_ms = @notAfter, issued_ms = @now, last_error = NULL, last_attempt_ms = @now
            """;
        command.Add("@name", record.Name);
        command.Add("@domains", string.Join(' ', record.Domains));
        command.Add("@chain", record.ChainPem!);
        command.Add("@key", record.KeySealed!);
        command.Add("@serial", record.Serial!);
        command.Add("@notBefore", Time(record.NotBefore!.Value));
        command.Add("@notAfter", Time(record.NotAfter!.Value));
        command.Add("@now", Time(DateTimeOffset.UtcNow));
        await command.ExecuteNonQueryAsync(cancellationToken);
        var appended = (await AppendEventAsync(connection, transaction, new EventRecord
        {
            Kind = "certificate.issued", Actor = "controller",
            Summary = $"certificate {record.Name} issued: serial {record.Serial}, valid until {record.NotAfter:yyyy-MM-dd HH:mm:ss}Z",
            Details = [$"domains {string.Join(' ', record.Domains)}"],
        }, cancellationToken));
        await MarkChangedAsync(connection, transaction, Topics.Certificates, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        EventsStored([appended]);
    }

    /// <summary>Records why an order failed, with its <c>certificate.order-failed</c> event; a certificate already held stays.</summary>
    public async Task RecordCertificateErrorAsync(string name, IReadOnlyList<string> domains, string error, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO issued_certificates (name, domains, last_error, last_attempt_ms) VALUES (@name, @domains, @error, @now)
            ON CONFLICT(name) DO UPDATE SET last_error = @error, last_attempt_ms = @now
            """;
        command.Add("@name", name);
        command.Add("@domains", string.Join(' ', domains));
        command.Add("@error", error);
        command.Add("@now", Time(DateTimeOffset.UtcNow));
        await command.ExecuteNonQueryAsync(cancellationToken);
        var appended = (await AppendEventAsync(connection, transaction, new EventRecord
        {
            Kind = "certificate.order-failed", Actor = "controller", Summary = $"certificate {name}: the order failed", Details = [error],
        }, cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        EventsStored([appended]);
    }

    private async Task<List<IssuedCertificateRecord>> ReadIssuedAsync(string clause, string? name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM issued_certificates " + clause;
        if (name is not null)
        {
            command.Add("@name", name);
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<IssuedCertificateRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new StoreRow(reader);
            records.Add(new IssuedCertificateRecord
            {
                Name = row.Text("name"),
                Domains = row.Text("domains").Split(' ', StringSplitOptions.RemoveEmptyEntries),
                ChainPem = row.TextOrNull("chain_pem"),
                KeySealed = row.BytesOrNull("key_sealed"),
                Serial = row.TextOrNull("serial"),
                NotBefore = row.TimeOrNull("not_before_ms"),
                NotAfter = row.TimeOrNull("not_after_ms"),
                IssuedAt = row.TimeOrNull("issued_ms"),
                LastError = row.TextOrNull("last_error"),
                LastAttempt = row.TimeOrNull("last_attempt_ms"),
            });
        }
        return records;
    }

}

/// <summary>A managed certificate: what it is for, what is held, and how the last attempt went.</summary>
public sealed record IssuedCertificateRecord
{
    /// <summary>The spec's certificate name.</summary>
    public required string Name { get; init; }

    /// <summary>The names it covers.</summary>
    public required IReadOnlyList<string> Domains { get; init; }

    /// <summary>The chain (leaf first), once obtained.</summary>
    public string? ChainPem { get; init; }

    /// <summary>The private key's PEM, sealed.</summary>
    public byte[]? KeySealed { get; init; }

    /// <summary>The leaf's serial (hex).</summary>
    public string? Serial { get; init; }

    /// <summary>Start of validity.</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>End of validity.</summary>
    public DateTimeOffset? NotAfter { get; init; }

    /// <summary>When it was obtained.</summary>
    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary>Why the last order failed, if it did.</summary>
    public string? LastError { get; init; }

    /// <summary>When an order was last tried.</summary>
    public DateTimeOffset? LastAttempt { get; init; }

    /// <summary>When it is due: a third of its lifetime before it ends.</summary>
    public DateTimeOffset? RenewAt => NotBefore is { } from && NotAfter is { } to ? to - (to - from) / 3 : null;
}
