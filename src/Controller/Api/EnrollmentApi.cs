using System.Security.Cryptography;
using Google.Protobuf.WellKnownTypes;
using Hawser.Controller.Pki;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;
using Grpc.Core;
using Hawser.Shared.Spec;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Api;

/// <summary>
/// <c>hawser.v1.EnrollmentService</c>: the CA for anyone (it is checked against the operator's pin),
/// a node certificate for a valid join token, renewal for a node that already has one.
/// </summary>
public sealed class EnrollmentApi(ControllerStore store, ControllerPki pki, ILogger logger, RefusalLog refusals, OperatorsApi operators) : EnrollmentService.EnrollmentServiceBase
{
    /// <inheritdoc/>
    public override Task<GetCaResponse> GetCa(GetCaRequest request, ServerCallContext context) =>
        Task.FromResult(new GetCaResponse { CaPem = pki.Ca.CertificatePem });

    /// <inheritdoc/>
    public override Task<JoinResponse> Join(JoinRequest request, ServerCallContext context) => JoinAsync(request, context);

    /// <inheritdoc/>
    public override Task<JoinResponse> Renew(RenewRequest request, ServerCallContext context) => RenewAsync(request, context);

    /// <inheritdoc/>
    public override Task<OperatorCertificate> EnrollOperator(EnrollOperatorRequest request, ServerCallContext context) => operators.EnrollAsync(request, context);

    /// <summary>Splits <c>ID.SECRET</c>; the id finds the row, only the secret's hash is stored.</summary>
    public static (string Id, byte[] SecretHash)? ParseToken(string token)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == token.Length - 1)
        {
            return null;
        }
        return (token[..dot], SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token[(dot + 1)..])));
    }

    private async Task<JoinResponse> JoinAsync(JoinRequest request, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        if (!SpecParser.IsValidNodeName(request.NodeName))
        {
            throw ApiError.Of(StatusCode.InvalidArgument, $"node name '{request.NodeName}' must be 1-63 letters, digits, '.', '_' or '-'");
        }
        if (ParseToken(request.Token) is not var (id, hash))
        {
            throw Refused(context, request.NodeName, "the join token is not in the form ID.SECRET");
        }
        // The token first: without a valid one, every name gets the same answer, so no one can learn which names are enrolled.
        if ((await store.Enrollment.ConsumeTokenAsync(id, hash, DateTimeOffset.UtcNow, consume: false, cancellationToken)).Problem is var held and not JoinTokenProblem.None)
        {
            throw Refused(context, request.NodeName, TokenProblem(held));
        }
        if (await store.Enrollment.HasValidCertificateAsync(request.NodeName, cancellationToken))
        {
            throw Logged(context, ApiError.Of(StatusCode.AlreadyExists,
                $"node '{request.NodeName}' is already enrolled; run `hawserctl node remove {request.NodeName}` first to enroll it again"));
        }
        // A request that cannot be signed must not cost the token one of its uses.
        System.Security.Cryptography.X509Certificates.CertificateRequest csr;
        try
        {
            csr = ReadSigningRequest(request.CsrDer);
        }
        catch (RpcException ex)
        {
            throw Logged(context, ex, request.NodeName);
        }
        var (problem, labels) = await store.Enrollment.ConsumeTokenAsync(id, hash, DateTimeOffset.UtcNow, cancellationToken: cancellationToken);
        if (problem != JoinTokenProblem.None)
        {
            throw Refused(context, request.NodeName, TokenProblem(problem));
        }
        var response = await IssueAsync(csr, request.NodeName, $"enrolled from {context.Peer} with join token {id}", cancellationToken);
        foreach (var (key, value) in labels)
        {
            response.Labels[key] = value;
        }
        var now = DateTimeOffset.UtcNow;
        if (await store.Nodes.GetAsync(request.NodeName, cancellationToken) is null)
        {
            await store.Nodes.UpsertAsync(new NodeRecord
            {
                Name = request.NodeName, Labels = labels, AgentVersion = string.Empty, FirstSeen = now, LastSeen = now,
                DesiredRevision = 0, AppliedRevision = 0,
            }, cancellationToken);
        }
        ControllerLog.Enrolled(logger, request.NodeName, context.Peer);
        return response;
    }

    private static string TokenProblem(JoinTokenProblem problem) => problem switch
    {
        JoinTokenProblem.Expired => "the join token has expired; create a new one with `hawserctl token create`",
        JoinTokenProblem.UsedUp => "the join token has no uses left; create a new one with `hawserctl token create`",
        JoinTokenProblem.Revoked => "the join token was revoked",
        _ => "the join token is not valid",
    };

    private Task<JoinResponse> RenewAsync(RenewRequest request, ServerCallContext context) =>
        IssueAsync(ReadSigningRequest(request.CsrDer), CallerIdentity.Of(context).Name, null, context.CancellationToken);

    /// <summary>The CSR, or INVALID_ARGUMENT saying why it cannot be signed.</summary>
    internal static System.Security.Cryptography.X509Certificates.CertificateRequest ReadSigningRequest(Google.Protobuf.ByteString der)
    {
        try
        {
            return Shared.Pki.CertificateAuthority.LoadSigningRequest(der.ToByteArray());
        }
        catch (ArgumentException ex)
        {
            throw ApiError.Of(StatusCode.InvalidArgument, ex.Message);
        }
    }

    /// <summary>Signs the node's certificate; an enrollment (<paramref name="enrolled"/> says how) is an event, a renewal too.</summary>
    private async Task<JoinResponse> IssueAsync(System.Security.Cryptography.X509Certificates.CertificateRequest csr, string node, string? enrolled, CancellationToken cancellationToken)
    {
        using (var certificate = pki.Ca.IssueNode(csr, node, pki.NodeCertificateLifetime))
        {
            var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
            await store.Enrollment.AddCertificateAsync(certificate.SerialNumber, node, notAfter, new EventRecord
            {
                Kind = enrolled is null ? "node.certificate-renewed" : "node.enrolled", Actor = $"node:{node}", Node = node,
                Summary = (enrolled ?? "node certificate renewed") + $"; certificate {certificate.SerialNumber} valid until {notAfter.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z",
            }, cancellationToken);
            return new JoinResponse
            {
                CertificatePem = certificate.ExportCertificatePem(),
                CaPem = pki.Ca.CertificatePem,
                NotAfter = Timestamp.FromDateTime(certificate.NotAfter.ToUniversalTime()),
            };
        }
    }

    /// <summary>A refused join (PERMISSION_DENIED), logged and counted; the caller throws it.</summary>
    private RpcException Refused(ServerCallContext context, string node, string message) =>
        Logged(context, ApiError.Of(StatusCode.PermissionDenied, message), node);

    private RpcException Logged(ServerCallContext context, RpcException ex, string? node = null)
    {
        refusals.Refused(context, ex.StatusCode, ex.Status.Detail, node);
        return ex;
    }
}
