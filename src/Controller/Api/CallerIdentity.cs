using Grpc.Core;
using Hawser.Controller.Store;
using Hawser.Shared.Pki;
using System.Threading.RateLimiting;

namespace Hawser.Controller.Api;

/// <summary>
/// Who is calling, from the TLS client certificate (already checked to chain to the CA by the TLS
/// layer), judged against <see cref="MethodAuthorization.Table"/>. Every refusal is logged with the
/// method and the peer (one event per address per window, <see cref="RefusalLog"/>), and changes nothing. Callers
/// without a certificate are rate limited per address.
/// </summary>
public sealed class CallerIdentity(ControllerStore store, RefusalLog refusals, double anonymousCallsPerSecond = CallerIdentity.DefaultAnonymousCallsPerSecond)
{
    /// <summary>Calls per second one address may make without a client certificate (the burst is five seconds' worth).</summary>
    public const double DefaultAnonymousCallsPerSecond = 20;

    // One bucket per address for callers without a certificate (Join, GetCa, and whatever they try besides).
    private readonly PartitionedRateLimiter<string> _anonymous = PartitionedRateLimiter.Create<string, string>(address =>
        RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = (int)Math.Max(1, anonymousCallsPerSecond * 5), TokensPerPeriod = (int)Math.Max(1, anonymousCallsPerSecond),
            ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0, AutoReplenishment = true,
        }));

    private const string UserStateKey = "hawser.identity";
    private static readonly Identity Anonymous = new(IdentityRole.None, string.Empty, string.Empty);

    /// <summary>The identity <see cref="AuthorizeAsync"/> accepted for this call (anonymous for an anonymous method).</summary>
    public static Identity Of(ServerCallContext context) =>
        context.UserState.TryGetValue(UserStateKey, out var identity) ? (Identity)identity : throw new InvalidOperationException(
            $"{context.Method} ran without the authorization interceptor");

    /// <summary>Throws UNAUTHENTICATED or PERMISSION_DENIED unless the table lets this caller call this method.</summary>
    public async Task<Identity> AuthorizeAsync(ServerCallContext context)
    {
        var certificate = context.GetHttpContext().Connection.ClientCertificate;
        if (certificate is null)
        {
            var address = RefusalLog.AddressOf(context);
            using var lease = _anonymous.AttemptAcquire(address);
            if (!lease.IsAcquired)
            {
                return Refuse(context, StatusCode.ResourceExhausted, $"too many calls without a client certificate from {address}; try again in a few seconds");
            }
        }
        var identity = certificate is null ? Anonymous : Identity.Of(certificate);
        if (!MethodAuthorization.Table.TryGetValue(context.Method, out var needed))
        {
            return Refuse(context, StatusCode.PermissionDenied, $"{context.Method} is not in the controller's authorization table");
        }
        var accepted = needed switch
        {
            Caller.Anonymous => identity,
            Caller.Admin => RequireAdmin(context, identity),
            _ => await RequireNodeAsync(context, identity),
        };
        context.UserState[UserStateKey] = accepted;
        return accepted;
    }

    private Identity RequireAdmin(ServerCallContext context, Identity identity) => identity.Role switch
    {
        IdentityRole.Admin => identity,
        IdentityRole.None => Refuse(context, StatusCode.Unauthenticated, "this call needs the admin credential (hawserctl's client certificate)"),
        _ => Refuse(context, StatusCode.PermissionDenied, $"{identity.Role.ToString().ToLowerInvariant()} '{identity.Name}' may not call the control API"),
    };

    private async Task<Identity> RequireNodeAsync(ServerCallContext context, Identity identity)
    {
        if (identity.Role == IdentityRole.None)
        {
            return Refuse(context, StatusCode.Unauthenticated, "agents connect with their node certificate; enroll with a join token first");
        }
        if (identity.Role != IdentityRole.Node)
        {
            return Refuse(context, StatusCode.PermissionDenied, $"'{identity.Name}' is not a node certificate");
        }
        if (!await store.Enrollment.IsCertificateValidAsync(identity.Serial, identity.Name, context.CancellationToken))
        {
            return Refuse(context, StatusCode.PermissionDenied, $"node '{identity.Name}' certificate {identity.Serial} is revoked or unknown; remove and re-enroll the node");
        }
        return identity;
    }

    private Identity Refuse(ServerCallContext context, StatusCode code, string message)
    {
        refusals.Refused(context, code, message);
        throw ApiError.Of(code, message);
    }
}
