using System.Data.Common;
using System.Globalization;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store.Repositories;

/// <summary>Leases: the jobs one controller at a time runs on a shared store, with terms that fence their writes.</summary>
public sealed class LeaseRepository(ControllerStore store)
{
    /// <summary>Raised with a lease's name when this controller lost a lease it held (metrics count them).</summary>
    public event Action<string>? LostLease;

    /// <summary>Says this controller lost <paramref name="name"/> (another took it, or renewals failed for a whole term).</summary>
    internal void Lost(string name) => LostLease?.Invoke(name);

    /// <summary>
    /// Takes the lease <paramref name="name"/> for <paramref name="holder"/> for <paramref name="ttl"/> when it is free or
    /// expired (on the database's clock), with a term one past the last; null when another holds it.
    /// </summary>
    public async Task<StoreLease?> TryAcquireAsync(string name, string holder, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        using var command = connection.Command(transaction, store.Engine.Render("""
            INSERT INTO leases (name, holder, term, expires_ms) VALUES (@name, @holder, 1, {now_ms} + @ttl)
            ON CONFLICT(name) DO UPDATE SET holder = @holder, term = leases.term + 1, expires_ms = {now_ms} + @ttl
                WHERE leases.expires_ms < {now_ms}
            RETURNING term
            """));
        command.Add("@name", name);
        command.Add("@holder", holder);
        command.Add("@ttl", (long)ttl.TotalMilliseconds);
        var term = await command.ExecuteScalarAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return term is null or DBNull ? null : new StoreLease(name, holder, Convert.ToInt64(term, CultureInfo.InvariantCulture));
    }

    /// <summary>Extends a lease still held (same holder and term, not expired) by <paramref name="ttl"/> from now; false when it was lost.</summary>
    public async Task<bool> RenewAsync(StoreLease lease, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, store.Engine.Render(
            "UPDATE leases SET expires_ms = {now_ms} + @ttl WHERE name = @name AND holder = @holder AND term = @term AND expires_ms >= {now_ms}"));
        BindLease(command, lease);
        command.Add("@ttl", (long)ttl.TotalMilliseconds);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Gives a lease up at once (another controller may take it without waiting for the expiry).</summary>
    public async Task ReleaseAsync(StoreLease lease, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command(null, "UPDATE leases SET expires_ms = 0 WHERE name = @name AND holder = @holder AND term = @term");
        BindLease(command, lease);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal static void BindLease(DbCommand command, StoreLease lease)
    {
        command.Add("@name", lease.Name);
        command.Add("@holder", lease.Holder);
        command.Add("@term", lease.Term);
    }
}
