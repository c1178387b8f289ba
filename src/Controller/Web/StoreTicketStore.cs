using System.Security.Cryptography;
using System.Text;
using Hawser.Controller.Store;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Hawser.Controller.Web;

/// <summary>
/// Where the web UI's cookie authentication keeps its tickets: in the store, by the SHA-256 of a random key that only the
/// browser's (protected) cookie holds, so every controller sharing the store honours a sign-in, a restart signs nobody out,
/// and a sign-out or a revocation ends it everywhere.
/// </summary>
public sealed class StoreTicketStore(ControllerStore store) : ITicketStore
{
    /// <summary>The claim naming who a ticket belongs to (its row's <c>who</c>, so all of one's sign-ins can be ended at once).</summary>
    public const string WhoClaim = "hawser:who";

    /// <inheritdoc/>
    public async Task<string> StoreAsync(AuthenticationTicket ticket)
    {
        var key = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        await RenewAsync(key, ticket);
        return key;
    }

    /// <inheritdoc/>
    public Task RenewAsync(string key, AuthenticationTicket ticket) =>
        store.WebSessions.SaveAsync(Hash(key), ticket.Principal.FindFirst(WhoClaim)?.Value ?? "", TicketSerializer.Default.Serialize(ticket),
            ticket.Properties.ExpiresUtc ?? DateTimeOffset.UtcNow.AddHours(12));

    /// <inheritdoc/>
    public async Task<AuthenticationTicket?> RetrieveAsync(string key) =>
        await store.WebSessions.FindAsync(Hash(key)) is { } bytes ? TicketSerializer.Default.Deserialize(bytes) : null;

    /// <inheritdoc/>
    public Task RemoveAsync(string key) => store.WebSessions.DeleteAsync(Hash(key));

    private static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
