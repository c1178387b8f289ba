using Grpc.Core;
using Hawser.Controller.Store;
using Hawser.Controller.Store.Repositories;
using Hawser.Shared.Pki;
using System.Threading.RateLimiting;

namespace Hawser.Controller.Api;

/// <summary>
/// Who is calling, from the TLS client certificate (already checked to chain to the CA by the TLS
/// layer) and, for an operator, its record in the store, judged against <see cref="MethodAuthorization.Table"/>. Every refusal is logged with the
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
    /// <summary>Where a call's operator is kept in its user state.</summary>
    internal const string OperatorStateKey = "hawser.operator";
    private static readonly Identity Anonymous = new(IdentityRole.None, string.Empty, string.Empty);

    /// <summary>The identity <see cref="AuthorizeAsync"/> accepted for this call (anonymous for an anonymous method).</summary>
    public static Identity Of(ServerCallContext context) =>
        context.UserState.TryGetValue(UserStateKey, out var identity) ? (Identity)identity : throw new InvalidOperationException(
            $"{context.Method} ran without the authorization interceptor");

    /// <summary>The operator <see cref="AuthorizeAsync"/> accepted for this call; throws for a call that needs none.</summary>
    public static OperatorRecord OperatorOf(ServerCallContext context) =>
        context.UserState.TryGetValue(OperatorStateKey, out var found) ? (OperatorRecord)found : throw new InvalidOperationException(
            $"{context.Method} needs no operator, so none was looked up");

    /// <summary>What the event log calls a caller: an operator by name, a node as <c>node:NAME</c>, else null (its address).</summary>
    public static string? ActorOf(Identity identity) => identity.Role switch
    {
        IdentityRole.Operator => identity.Name,
        IdentityRole.Node => $"node:{identity.Name}",
        _ => null,
    };

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
                return Refuse(context, null, StatusCode.ResourceExhausted, $"too many calls without a client certificate from {address}; try again in a few seconds");
            }
        }
        var identity = certificate is null ? Anonymous : Identity.Of(certificate);
        if (!MethodAuthorization.Table.TryGetValue(context.Method, out var needed))
        {
            return Refuse(context, identity, StatusCode.PermissionDenied, $"{context.Method} is not in the controller's authorization table");
        }
        var accepted = needed switch
        {
            Access.Anonymous => identity,
            Access.Node => await RequireNodeAsync(context, identity),
            _ => await RequireOperatorAsync(context, identity, needed),
        };
        context.UserState[UserStateKey] = accepted;
        return accepted;
    }

    /// <summary>
    /// The live operator a certificate belongs to (its role and scope from the store, read on every call so a revocation on
    /// any controller holds at once), or null and why not.
    /// </summary>
    public async Task<(OperatorRecord? Operator, string? Problem)> OperatorAsync(Identity identity, CancellationToken cancellationToken)
    {
        if (identity.Role != IdentityRole.Operator)
        {
            return (null, identity.Role == IdentityRole.Node ? $"node '{identity.Name}' is not an operator" : "no operator certificate");
        }
        return await store.Operators.ResolveAsync(identity.Serial, identity.Name, identity.NotBefore, cancellationToken);
    }

    private async Task<Identity> RequireOperatorAsync(ServerCallContext context, Identity identity, Access needed)
    {
        if (identity.Role == IdentityRole.None)
        {
            return Refuse(context, identity, StatusCode.Unauthenticated, "this call needs an operator's certificate (hawserctl's credential; `hawserctl operator enroll` fetches one)");
        }
        if (identity.Role != IdentityRole.Operator)
        {
            return Refuse(context, identity, StatusCode.PermissionDenied, $"{identity.Role.ToString().ToLowerInvariant()} '{identity.Name}' may not call the control API");
        }
        var (found, problem) = await OperatorAsync(identity, context.CancellationToken);
        if (found is null)
        {
            return Refuse(context, identity, StatusCode.PermissionDenied, problem!);
        }
        if (!MethodAuthorization.Grants(found.Role, needed))
        {
            return Refuse(context, identity, StatusCode.PermissionDenied,
                $"operator '{found.Name}' is a {OperatorRepository.RoleWord(found.Role)}: {MethodName(context.Method)} needs {Needs(needed)}");
        }
        context.UserState[OperatorStateKey] = found;
        return identity;
    }

    /// <summary>Which roles hold an access, in words.</summary>
    public static string Needs(Access access) => access switch
    {
        Access.Change => "the operator or admin role",
        Access.Admin => "the admin role",
        _ => "an operator",
    };

    private static string MethodName(string method) => method[(method.LastIndexOf('/') + 1)..];

    private async Task<Identity> RequireNodeAsync(ServerCallContext context, Identity identity)
    {
        if (identity.Role == IdentityRole.None)
        {
            return Refuse(context, identity, StatusCode.Unauthenticated, "agents connect with their node certificate; enroll with a join token first");
        }
        if (identity.Role != IdentityRole.Node)
        {
            return Refuse(context, identity, StatusCode.PermissionDenied, $"'{identity.Name}' is not a node certificate");
        }
        if (!await store.Enrollment.IsCertificateValidAsync(identity.Serial, identity.Name, context.CancellationToken))
        {
            if (await store.Nodes.GetAsync(identity.Name, context.CancellationToken) is null)
            {
                // Removed: no retry can help, so the agent is told to stop rather than knock for ever.
                refusals.Refused(context, StatusCode.PermissionDenied, $"node '{identity.Name}' was removed", actor: ActorOf(identity));
                throw new RpcException(new Status(StatusCode.PermissionDenied,
                    $"node '{identity.Name}' was removed from the controller; the agent stops (enroll it again with a new join token to bring it back)"),
                    new Metadata { { Shared.Protocol.NodeRefusal.Trailer, Shared.Protocol.NodeRefusal.Removed } });
            }
            return Refuse(context, identity, StatusCode.PermissionDenied, $"node '{identity.Name}' certificate {identity.Serial} is revoked or unknown; remove and re-enroll the node");
        }
        return identity;
    }

    private Identity Refuse(ServerCallContext context, Identity? identity, StatusCode code, string message)
    {
        refusals.Refused(context, code, message, actor: identity is null ? null : ActorOf(identity));
        throw ApiError.Of(code, message);
    }
}
