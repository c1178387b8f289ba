using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>The certificates the controller obtains with ACME, and its ACME accounts (keys sealed).</summary>
public sealed class CertificateRepository(ControllerStore store)
{
    /// <summary>The account for <paramref name="directory"/>: its sealed key and URL, or null.</summary>
    public async Task<(byte[] KeySealed, Uri Url)?> GetAccountAsync(Uri directory, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT key_sealed, url FROM acme_accounts WHERE directory = @directory";
        command.Add("@directory", directory.ToString());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) && new StoreRow(reader) is var row ? (row.BytesOrNull("key_sealed")!, new Uri(row.Text("url"))) : null;
    }

    /// <summary>The sealed key of some stored account (every account shares one key), or null before the first.</summary>
    public async Task<byte[]?> AnyAccountKeyAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT key_sealed FROM acme_accounts ORDER BY created_ms, directory LIMIT 1";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new StoreRow(reader).BytesOrNull("key_sealed") : null;
    }

    /// <summary>Records the account for <paramref name="directory"/> (a key rollover replaces the key).</summary>
    public async Task SaveAccountAsync(Uri directory, byte[] keySealed, Uri url, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
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
        command.Add("@now", StoreRow.Ms(DateTimeOffset.UtcNow));
        await command.ExecuteNonQueryAsync(cancellationToken);
        await store.MarkChangedAsync(connection, transaction, ControllerStore.Topics.Certificates, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Every certificate the controller manages, by name.</summary>
    public async Task<IReadOnlyList<IssuedCertificateRecord>> ListAsync(CancellationToken cancellationToken = default) => (await ReadIssuedAsync("ORDER BY name", null, cancellationToken));

    /// <summary>One certificate, or null.</summary>
    public async Task<IssuedCertificateRecord?> GetAsync(string name, CancellationToken cancellationToken = default) => (await ReadIssuedAsync("WHERE name = @name", name, cancellationToken)).SingleOrDefault();

    /// <summary>
    /// Stores a certificate just obtained, clearing the last error, with its <c>certificate.issued</c> event; with
    /// <paramref name="lease"/>, refused (<see cref="LeaseLostException"/>) unless the lease on its order is still held.
    /// </summary>
    public async Task SaveAsync(IssuedCertificateRecord record, StoreLease? lease = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await store.CheckFenceAsync(connection, transaction, lease, cancellationToken);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO issued_certificates (name, domains, chain_pem, key_sealed, serial, not_before_ms, not_after_ms, issued_ms, last_error, last_attempt_ms, issuer)
            VALUES (@name, @domains, @chain, @key, @serial, @notBefore, @notAfter, @now, NULL, @now, @issuer)
            ON CONFLICT(name) DO UPDATE SET domains = @domains, chain_pem = @chain, key_sealed = @key, serial = @serial, issuer = @issuer,
                not_before_ms = @notBefore, not_after_ms = @notAfter, issued_ms = @now, last_error = NULL, last_attempt_ms = @now,
                next_attempt_ms = NULL, backoff_ms = NULL
            """;
        command.Add("@name", record.Name);
        command.Add("@domains", string.Join(' ', record.Domains));
        command.Add("@chain", record.ChainPem!);
        command.Add("@key", record.KeySealed!);
        command.Add("@serial", record.Serial!);
        command.Add("@issuer", record.Issuer);
        command.Add("@notBefore", StoreRow.Ms(record.NotBefore!.Value));
        command.Add("@notAfter", StoreRow.Ms(record.NotAfter!.Value));
        command.Add("@now", StoreRow.Ms(DateTimeOffset.UtcNow));
        await command.ExecuteNonQueryAsync(cancellationToken);
        var appended = (await store.Events.AppendAsync(connection, transaction, new EventRecord
        {
            Kind = "certificate.issued", Actor = "controller",
            Summary = $"certificate {record.Name} issued: serial {record.Serial}, valid until {record.NotAfter:yyyy-MM-dd HH:mm:ss}Z"
                + (record.Issuer is { } issuer ? $", by {issuer}" : ""),
            Details = [$"domains {string.Join(' ', record.Domains)}"],
        }, cancellationToken));
        await store.MarkChangedAsync(connection, transaction, ControllerStore.Topics.Certificates, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        store.Events.Stored([appended]);
    }

    /// <summary>
    /// Records why an order failed, with its <c>certificate.order-failed</c> event unless it did not fail but waits
    /// (<paramref name="failed"/> false: nothing reached the CA); a certificate already held stays.
    /// </summary>
    public async Task RecordErrorAsync(string name, IReadOnlyList<string> domains, string error, bool failed = true, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
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
        command.Add("@now", StoreRow.Ms(DateTimeOffset.UtcNow));
        await command.ExecuteNonQueryAsync(cancellationToken);
        if (!failed)
        {
            await transaction.CommitAsync(cancellationToken);
            return;
        }
        var appended = (await store.Events.AppendAsync(connection, transaction, new EventRecord
        {
            Kind = "certificate.order-failed", Actor = "controller", Summary = $"certificate {name}: the order failed", Details = [error],
        }, cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        store.Events.Stored([appended]);
    }

    /// <summary>
    /// After a failed order, when the next may be made (<paramref name="nextAttempt"/>, after a wait of <paramref name="backoff"/>).
    /// Kept in the store, so a restart, or another controller taking the order's lease, continues the back-off rather than ordering at once.
    /// </summary>
    public async Task SetBackoffAsync(string name, IReadOnlyList<string> domains, DateTimeOffset nextAttempt, TimeSpan backoff, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO issued_certificates (name, domains, next_attempt_ms, backoff_ms) VALUES (@name, @domains, @next, @backoff)
            ON CONFLICT(name) DO UPDATE SET next_attempt_ms = @next, backoff_ms = @backoff
            """;
        command.Add("@name", name);
        command.Add("@domains", string.Join(' ', domains));
        command.Add("@next", StoreRow.Ms(nextAttempt));
        command.Add("@backoff", (long)backoff.TotalMilliseconds);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Records an order placed at a CA for <paramref name="names"/> (the breaker counts them).</summary>
    public async Task RecordOrderAsync(string certificate, IReadOnlyList<string> names, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO certificate_orders (names, certificate, at_ms) VALUES (@names, @certificate, @now)";
        command.Add("@names", NamesKey(names));
        command.Add("@certificate", certificate);
        command.Add("@now", StoreRow.Ms(DateTimeOffset.UtcNow));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>When each order for exactly <paramref name="names"/> was placed since <paramref name="since"/>, oldest first.</summary>
    public async Task<IReadOnlyList<DateTimeOffset>> OrdersSinceAsync(IReadOnlyList<string> names, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT at_ms FROM certificate_orders WHERE names = @names AND at_ms >= @since ORDER BY at_ms";
        command.Add("@names", NamesKey(names));
        command.Add("@since", StoreRow.Ms(since));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var times = new List<DateTimeOffset>();
        while (await reader.ReadAsync(cancellationToken))
        {
            times.Add(new StoreRow(reader).Time("at_ms"));
        }
        return times;
    }

    /// <summary>A set of names as one key: sorted, lower case, space-separated (a CA counts duplicates by the set, not the order).</summary>
    private static string NamesKey(IReadOnlyList<string> names) =>
        string.Join(' ', names.Select(n => n.ToLowerInvariant()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));

    private async Task<List<IssuedCertificateRecord>> ReadIssuedAsync(string clause, string? name, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
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
                NextAttempt = row.TimeOrNull("next_attempt_ms"),
                Issuer = row.TextOrNull("issuer"),
                Backoff = row.NumberOrNull("backoff_ms") is { } backoff ? TimeSpan.FromMilliseconds(backoff) : null,
            });
        }
        return records;
    }
}
