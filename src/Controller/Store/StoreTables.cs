namespace Hawser.Controller.Store;

/// <summary>
/// One table of the store and the column that orders its rows; <paramref name="Seeded"/> when a new store's schema writes rows of
/// its own into it (the operator <c>admin</c>), which a copy replaces.
/// </summary>
public sealed record StoreTable(string Name, string Key, bool Seeded = false);

/// <summary>The store's tables at the latest schema version, in the order a copy writes them.</summary>
public static class StoreTables
{
    /// <summary>Every table (a test checks the list against a fresh store's schema).</summary>
    public static readonly IReadOnlyList<StoreTable> All =
    [
        new("revisions", "number"),
        new("nodes", "name"),
        new("join_tokens", "id"),
        new("certificates", "serial"),
        new("acme_accounts", "directory"),
        new("issued_certificates", "name"),
        new("rollouts", "id"),
        new("rollout_nodes", "rollout_id, position"),
        new("events", "id"),
        new("store_changes", "topic"),
        new("leases", "name"),
        new("web_tickets", "key_sha256"),
        new("data_protection_keys", "name"),
        new("controller_ca", "id"),
        new("node_messages", "id"),
        new("operators", "name", Seeded: true),
        new("operator_certificates", "serial"),
        new("operator_tokens", "id"),
        new("certificate_orders", "id"),
        new("notification_outbox", "id"),
        new("agent_releases", "version, arch"),
        new("agent_release_chunks", "version, arch, seq"),
    ];
}
