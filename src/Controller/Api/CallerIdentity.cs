using Hawser.Controller.Store;
using Hawser.Shared.Pki;
using Hawser.Shared.Rpc;
using Hawser.Shared.Rpc.Server;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Api;

/// <summary>
/// Who is calling, from the TLS client certificate (already checked to chain to the CA by the TLS
/// layer). Every refusal is logged with the method and the peer, and changes nothing.
/// </summary>
public sealed class CallerIdentity(ControllerStore store, ILogger logger)
{
    /// <summary>The caller's identity, or none for an anonymous caller.</summary>
    public static Identity Of(ServerCallContext context) =>
        context.HttpContext.Connection.ClientCertificate is { } certificate ? Identity.Of(certificate) : new Identity(IdentityRole.None, string.Empty, string.Empty);

    /// <summary>Throws UNAUTHENTICATED or PERMISSION_DENIED unless the caller holds an admin credential.</summary>
    public Identity RequireAdmin(ServerCallContext context)
    {
        var identity = Of(context);
        return identity.Role switch
        {
            IdentityRole.Admin => identity,
            IdentityRole.None => Refuse(context, StatusCode.Unauthenticated, "this call needs the admin credential (hawserctl's client certificate)"),
            _ => Refuse(context, StatusCode.PermissionDenied, $"{identity.Role.ToString().ToLowerInvariant()} '{identity.Name}' may not call the control API"),
        };
    }

    /// <summary>Throws unless the caller is a node whose certificate is known and not revoked.</summary>
    public Identity RequireNode(ServerCallContext context)
    {
        var identity = Of(context);
        if (identity.Role == IdentityRole.None)
        {
            return Refuse(context, StatusCode.Unauthenticated, "agents connect with their node certificate; enroll with a join token first");
        }
        if (identity.Role != IdentityRole.Node)
        {
            return Refuse(context, StatusCode.PermissionDenied, $"'{identity.Name}' is not a node certificate");
        }
        if (!store.IsCertificateValid(identity.Serial, identity.Name))
        {
            return Refuse(context, StatusCode.PermissionDenied, $"node '{identity.Name}' certificate {identity.Serial} is revoked or unknown; remove and re-enroll the node");
        }
        return identity;
    }

    private Identity Refuse(ServerCallContext context, StatusCode code, string message)
    {
        ControllerLog.Refused(logger, context.Method, context.Peer, code, message);
        throw new RpcException(code, message);
    }
}
