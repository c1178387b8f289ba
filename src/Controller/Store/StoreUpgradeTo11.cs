using System.Data.Common;
using Hawser.Controller.Store.Engines;

namespace Hawser.Controller.Store;

/// <summary>
/// Schema step 11's data: the operator <c>admin</c>, whose certificates are, besides those recorded from now on, the admin
/// credentials every controller's <c>init</c> made before this step (the store never recorded them).
/// </summary>
internal static class StoreUpgradeTo11
{
    /// <summary>Runs the step on <paramref name="connection"/> inside <paramref name="transaction"/>.</summary>
    public static void Run(DbConnection connection, DbTransaction transaction, StoreEngine engine)
    {
        using var command = connection.Command(transaction,
            "INSERT INTO operators (name, role, selector_json, created_ms, legacy_before_ms) VALUES ('admin', 'admin', '{}', @now, @now)");
        command.Add("@now", StoreRow.Ms(DateTimeOffset.UtcNow));
        command.ExecuteNonQuery();
    }
}
