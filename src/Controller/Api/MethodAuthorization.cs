using System.Collections.Frozen;
using Hawser.Controller.Store;

namespace Hawser.Controller.Api;

/// <summary>What a call needs: no identity, a node's, or an operator whose role grants a permission.</summary>
public enum Access
{
    /// <summary>Anyone, with or without a client certificate (enrollment, health, the login page).</summary>
    Anonymous,

    /// <summary>A node certificate the controller issued and has not revoked; the node's name is its identity.</summary>
    Node,

    /// <summary>Every read: nodes, revisions, diffs of stored revisions, events, rollouts, certificates' public parts. Viewers and up.</summary>
    Read,

    /// <summary>Changing the fleet's desired state: apply, diff against the hosts, rollouts, certificate renewal. Operators and admins.</summary>
    Change,

    /// <summary>Join tokens, operators, node removal: admins only.</summary>
    Admin,
}

/// <summary>
/// The one table of which caller may call what, for gRPC (<see cref="Table"/>, enforced by <see cref="AuthorizationInterceptor"/>)
/// and the web UI's routes (<see cref="WebRoutes"/>, which name the gRPC method they answer for, so the web and hawserctl
/// cannot disagree). A method or route served but missing here is refused.
/// </summary>
public static class MethodAuthorization
{
    private const string Control = "/hawser.v1.ControlService/";

    /// <summary>Full method name (<c>/package.Service/Method</c>) to the permission it needs.</summary>
    public static readonly FrozenDictionary<string, Access> Table = new Dictionary<string, Access>(StringComparer.Ordinal)
    {
        // Enrollment: the CA is public (the agent checks it against the operator's pin); Join and EnrollOperator are authorized by their tokens.
        ["/hawser.v1.EnrollmentService/GetCa"] = Access.Anonymous,
        ["/hawser.v1.EnrollmentService/Join"] = Access.Anonymous,
        ["/hawser.v1.EnrollmentService/EnrollOperator"] = Access.Anonymous,
        ["/hawser.v1.EnrollmentService/Renew"] = Access.Node,
        // The agent stream; its hello must also name the certificate's node (AgentSessions checks that).
        ["/hawser.v1.AgentService/Connect"] = Access.Node,
        [Control + "ListNodes"] = Access.Read,
        [Control + "GetNode"] = Access.Read,
        [Control + "ListRevisions"] = Access.Read,
        [Control + "GetRevision"] = Access.Read,
        [Control + "ListCertificates"] = Access.Read,
        [Control + "GetRollout"] = Access.Read,
        [Control + "ListRollouts"] = Access.Read,
        [Control + "ListEvents"] = Access.Read,
        [Control + "WatchEvents"] = Access.Read,
        [Control + "WhoAmI"] = Access.Read,
        // Any operator replaces its own key; the call acts on the caller only.
        [Control + "RotateOwnCertificate"] = Access.Read,
        [Control + "ListReceivers"] = Access.Read,
        [Control + "ListAgentReleases"] = Access.Read,
        [Control + "ApplySpec"] = Access.Change,
        // A diff asks every agent for a dry run of the new spec: it runs on the hosts, so it is a change's first half.
        [Control + "DiffSpec"] = Access.Change,
        [Control + "RenewCertificate"] = Access.Change,
        [Control + "StartRollout"] = Access.Change,
        [Control + "ControlRollout"] = Access.Change,
        // A sample notification reaches people: only those who change the fleet send one.
        [Control + "TestReceiver"] = Access.Change,
        [Control + "CreateJoinToken"] = Access.Admin,
        [Control + "RevokeJoinToken"] = Access.Admin,
        [Control + "RemoveNode"] = Access.Admin,
        [Control + "AddOperator"] = Access.Admin,
        [Control + "ListOperators"] = Access.Admin,
        [Control + "RevokeOperator"] = Access.Admin,
        [Control + "ReissueOperator"] = Access.Admin,
        // What every agent will run: as much trust as enrolling a node.
        [Control + "PublishAgentRelease"] = Access.Admin,
        // grpc.health.v1: load balancers and service managers probe it without credentials.
        ["/grpc.health.v1.Health/Check"] = Access.Anonymous,
        ["/grpc.health.v1.Health/Watch"] = Access.Anonymous,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// Each web route (<c>VERB pattern</c>, as mapped) to the permission it needs: a route that shows or does what a gRPC
    /// method does takes that method's entry in <see cref="Table"/>.
    /// </summary>
    public static readonly FrozenDictionary<string, Access> WebRoutes = new Dictionary<string, Access>(StringComparer.Ordinal)
    {
        ["GET /login"] = Access.Anonymous,
        ["POST /login"] = Access.Anonymous,
        ["GET /login/sso"] = Access.Anonymous,
        ["GET /login.css"] = Access.Anonymous,
        ["GET /favicon.svg"] = Access.Anonymous,
        ["GET /favicon.ico"] = Access.Anonymous,
        ["POST /logout"] = Access.Read,
        ["GET /"] = Access.Read,
        ["GET /assets/{file}"] = Access.Read,
        ["GET /api/v1/whoami"] = Table[Control + "WhoAmI"],
        ["GET /api/v1/nodes"] = Table[Control + "ListNodes"],
        ["GET /api/v1/nodes/{name}"] = Table[Control + "GetNode"],
        ["GET /api/v1/revisions"] = Table[Control + "ListRevisions"],
        ["GET /api/v1/revisions/diff"] = Table[Control + "GetRevision"],
        ["GET /api/v1/rollouts"] = Table[Control + "ListRollouts"],
        ["GET /api/v1/rollouts/{id}"] = Table[Control + "GetRollout"],
        ["GET /api/v1/rollouts/{id}/timeline"] = Table[Control + "GetRollout"],
        ["GET /api/v1/events/recent"] = Table[Control + "ListEvents"],
        ["GET /api/v1/events/log"] = Table[Control + "ListEvents"],
        ["GET /api/v1/charts/outcomes"] = Table[Control + "ListEvents"],
        ["GET /api/v1/nodes-unenrolled"] = Table[Control + "ListNodes"],
        ["GET /api/v1/controller"] = Table[Control + "ListNodes"],
        ["POST /api/v1/rollouts"] = Table[Control + "StartRollout"],
        ["POST /api/v1/rollouts/{id}/{action}"] = Table[Control + "ControlRollout"],
        ["GET /api/v1/certificates"] = Table[Control + "ListCertificates"],
        ["POST /api/v1/certificates/{name}/renew"] = Table[Control + "RenewCertificate"],
        ["GET /api/v1/events"] = Table[Control + "WatchEvents"],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Whether an operator of <paramref name="role"/> holds <paramref name="access"/>.</summary>
    public static bool Grants(OperatorRole role, Access access) => access switch
    {
        Access.Read => true,
        Access.Change => role is OperatorRole.Operator or OperatorRole.Admin,
        Access.Admin => role == OperatorRole.Admin,
        _ => false,
    };
}
