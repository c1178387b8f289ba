using System.Collections.Frozen;

namespace Hawser.Controller.Api;

/// <summary>Who may call a gRPC method.</summary>
public enum Caller
{
    /// <summary>Anyone, with or without a client certificate (enrollment, health).</summary>
    Anonymous,

    /// <summary>A node certificate the controller issued and has not revoked; the node's name is its identity.</summary>
    Node,

    /// <summary>The admin client certificate (hawserctl).</summary>
    Admin,
}

/// <summary>
/// The one table of which identity may call which method, enforced for every call by
/// <see cref="AuthorizationInterceptor"/>. A method served but missing here is refused.
/// </summary>
public static class MethodAuthorization
{
    /// <summary>Full method name (<c>/package.Service/Method</c>) to the caller it needs.</summary>
    public static readonly FrozenDictionary<string, Caller> Table = new Dictionary<string, Caller>(StringComparer.Ordinal)
    {
        // Enrollment: the CA is public (the agent checks it against the operator's pin); Join is authorized by its token.
        ["/hawser.v1.EnrollmentService/GetCa"] = Caller.Anonymous,
        ["/hawser.v1.EnrollmentService/Join"] = Caller.Anonymous,
        ["/hawser.v1.EnrollmentService/Renew"] = Caller.Node,
        // The agent stream; its hello must also name the certificate's node (AgentSessions checks that).
        ["/hawser.v1.AgentService/Connect"] = Caller.Node,
        ["/hawser.v1.ControlService/ListNodes"] = Caller.Admin,
        ["/hawser.v1.ControlService/GetNode"] = Caller.Admin,
        ["/hawser.v1.ControlService/ApplySpec"] = Caller.Admin,
        ["/hawser.v1.ControlService/DiffSpec"] = Caller.Admin,
        ["/hawser.v1.ControlService/ListRevisions"] = Caller.Admin,
        ["/hawser.v1.ControlService/GetRevision"] = Caller.Admin,
        ["/hawser.v1.ControlService/CreateJoinToken"] = Caller.Admin,
        ["/hawser.v1.ControlService/RemoveNode"] = Caller.Admin,
        ["/hawser.v1.ControlService/RevokeJoinToken"] = Caller.Admin,
        ["/hawser.v1.ControlService/ListCertificates"] = Caller.Admin,
        ["/hawser.v1.ControlService/RenewCertificate"] = Caller.Admin,
        ["/hawser.v1.ControlService/StartRollout"] = Caller.Admin,
        ["/hawser.v1.ControlService/GetRollout"] = Caller.Admin,
        ["/hawser.v1.ControlService/ListRollouts"] = Caller.Admin,
        ["/hawser.v1.ControlService/ControlRollout"] = Caller.Admin,
        ["/hawser.v1.ControlService/ListEvents"] = Caller.Admin,
        ["/hawser.v1.ControlService/WatchEvents"] = Caller.Admin,
        // grpc.health.v1: load balancers and service managers probe it without credentials.
        ["/grpc.health.v1.Health/Check"] = Caller.Anonymous,
        ["/grpc.health.v1.Health/Watch"] = Caller.Anonymous,
    }.ToFrozenDictionary(StringComparer.Ordinal);
}
