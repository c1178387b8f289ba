using System.Security.Cryptography;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Hawser.Controller.Pki;
using Hawser.Controller.Store;
using Hawser.Controller.Store.Repositories;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Api;

/// <summary>
/// Operators over the API: who the caller is, adding, listing, revoking and reissuing operators (admins), rotating one's
/// own certificate (anyone), and the anonymous enrollment with a one-use token. A key never crosses the wire: the
/// operator's hawserctl makes it and sends a CSR, of which only the public key is used.
/// </summary>
public sealed class OperatorsApi(ControllerStore store, ControllerPki pki, RefusalLog refusals)
{
    /// <summary>How long an operator certificate lives.</summary>
    public static readonly TimeSpan CertificateLifetime = TimeSpan.FromDays(365);

    /// <summary>How long an enrollment token is good for when the caller names no time.</summary>
    public static readonly TimeSpan DefaultTokenLifetime = TimeSpan.FromHours(24);

    /// <summary>The longest an enrollment token may be good for.</summary>
    public static readonly TimeSpan MaxTokenLifetime = TimeSpan.FromDays(30);

    /// <summary>Whether <paramref name="name"/> may name an operator: 1 to 64 of letters, digits, '.', '_', '-' and '@', starting with a letter or digit.</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 64 && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@');

    internal static WhoAmIResponse WhoAmI(ServerCallContext context)
    {
        var found = CallerIdentity.OperatorOf(context);
        var response = new WhoAmIResponse { Name = found.Name, Role = OperatorRepository.RoleWord(found.Role), CertificateSerial = CallerIdentity.Of(context).Serial };
        response.Selector.Add(new Dictionary<string, string>(found.Selector));
        return response;
    }

    internal async Task<OperatorEnrollment> AddAsync(AddOperatorRequest request, ServerCallContext context)
    {
        if (!IsValidName(request.Name))
        {
            throw ApiError.Of(StatusCode.InvalidArgument, $"name '{Shared.Cli.TerminalText.Neutralize(request.Name)}': 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit");
        }
        var role = OperatorRepository.ParseRole(request.Role)
            ?? throw ApiError.Of(StatusCode.InvalidArgument, $"role '{Shared.Cli.TerminalText.Neutralize(request.Role)}': give viewer, operator or admin");
        if (role == OperatorRole.Admin && request.Selector.Count > 0)
        {
            throw ApiError.Of(StatusCode.InvalidArgument, "an admin manages operators and join tokens for the whole fleet, so it cannot be scoped; give --role operator or viewer with --selector");
        }
        var (id, secret, hash, expires) = NewToken(request.TokenTtlSeconds);
        var record = new OperatorRecord { Name = request.Name, Role = role, Selector = new Dictionary<string, string>(request.Selector), CreatedAt = DateTimeOffset.UtcNow };
        if (!await store.Operators.AddAsync(record, id, hash, expires, CallerIdentity.Of(context).Name, context.CancellationToken))
        {
            throw ApiError.Of(StatusCode.AlreadyExists, $"operator '{request.Name}' exists; `hawserctl operator rotate {request.Name}` gives it a new enrollment token, `operator revoke` ends it");
        }
        return Enrollment(request.Name, id, secret, expires);
    }

    internal async Task<ListOperatorsResponse> ListAsync(ServerCallContext context)
    {
        var response = new ListOperatorsResponse();
        foreach (var (record, certificates, notAfter) in await store.Operators.ListAsync(context.CancellationToken))
        {
            var message = new Operator
            {
                Name = record.Name, Role = OperatorRepository.RoleWord(record.Role), CreatedAt = Timestamp.FromDateTimeOffset(record.CreatedAt),
                RevokedAt = record.RevokedAt is { } revoked ? Timestamp.FromDateTimeOffset(revoked) : null,
                Certificates = (uint)certificates + (record.LegacyBefore is null ? 0u : 1u),
                NotAfter = notAfter is { } end ? Timestamp.FromDateTimeOffset(end) : null,
            };
            message.Selector.Add(new Dictionary<string, string>(record.Selector));
            response.Operators.Add(message);
        }
        return response;
    }

    internal async Task<RevokeOperatorResponse> RevokeAsync(RevokeOperatorRequest request, ServerCallContext context)
    {
        var actor = CallerIdentity.Of(context).Name;
        if (request.Name == actor)
        {
            throw ApiError.Of(StatusCode.FailedPrecondition, $"'{actor}' is you: revoking yourself would lock you out; have another admin do it");
        }
        if (!await store.Operators.RevokeAsync(request.Name, actor, context.CancellationToken))
        {
            throw ApiError.Of(StatusCode.NotFound, $"there is no live operator named '{Shared.Cli.TerminalText.Neutralize(request.Name)}'; `hawserctl operator list` lists them");
        }
        return new RevokeOperatorResponse();
    }

    internal async Task<OperatorEnrollment> ReissueAsync(ReissueOperatorRequest request, ServerCallContext context)
    {
        var (id, secret, hash, expires) = NewToken(request.TokenTtlSeconds);
        if (!await store.Operators.ReissueAsync(request.Name, id, hash, expires, CallerIdentity.Of(context).Name, context.CancellationToken))
        {
            throw ApiError.Of(StatusCode.NotFound, $"there is no live operator named '{Shared.Cli.TerminalText.Neutralize(request.Name)}'; `hawserctl operator list` lists them");
        }
        return Enrollment(request.Name, id, secret, expires);
    }

    internal Task<OperatorCertificate> RotateOwnAsync(RotateOwnCertificateRequest request, ServerCallContext context)
    {
        var self = CallerIdentity.OperatorOf(context);
        return IssueAsync(self, EnrollmentApi.ReadSigningRequest(request.CsrDer), replacesOthers: true,
            $"operator {self.Name} rotated its certificate from {RefusalLog.AddressOf(context)}", "operator.rotated", context.CancellationToken);
    }

    internal async Task<OperatorCertificate> EnrollAsync(EnrollOperatorRequest request, ServerCallContext context)
    {
        // The CSR before the token: a request that cannot be signed must not spend it.
        var csr = EnrollmentApi.ReadSigningRequest(request.CsrDer);
        if (EnrollmentApi.ParseToken(request.Token) is not var (id, hash))
        {
            throw Refused(context, "the operator enrollment token is not in the form ID.SECRET");
        }
        var (problem, found) = await store.Operators.ConsumeTokenAsync(id, hash, DateTimeOffset.UtcNow, context.CancellationToken);
        if (problem != OperatorTokenProblem.None)
        {
            throw Refused(context, problem switch
            {
                OperatorTokenProblem.Expired => "the operator enrollment token has expired; ask an admin for a new one (`hawserctl operator rotate NAME`)",
                OperatorTokenProblem.Used => "the operator enrollment token was already used; ask an admin for a new one (`hawserctl operator rotate NAME`)",
                OperatorTokenProblem.Revoked => "the operator enrollment token was revoked (its operator was revoked or given a newer token)",
                _ => "the operator enrollment token is not valid",
            });
        }
        return await IssueAsync(found!, csr, replacesOthers: false, $"operator {found!.Name} enrolled from {RefusalLog.AddressOf(context)} with token {id}",
            "operator.enrolled", context.CancellationToken);
    }

    private async Task<OperatorCertificate> IssueAsync(OperatorRecord record, System.Security.Cryptography.X509Certificates.CertificateRequest csr, bool replacesOthers,
        string summary, string kind, CancellationToken cancellationToken)
    {
        using var certificate = pki.Ca.IssueOperator(csr, record.Name, CertificateLifetime);
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        var stored = await store.Operators.AddCertificateAsync(certificate.SerialNumber, record.Name, notAfter, replacesOthers, new EventRecord
        {
            Kind = kind, Actor = record.Name, Summary = $"{summary}; certificate {certificate.SerialNumber} valid until {notAfter.UtcDateTime:yyyy-MM-dd}",
        }, cancellationToken);
        if (!stored)
        {
            throw ApiError.Of(StatusCode.PermissionDenied, $"operator '{record.Name}' was revoked meanwhile");
        }
        return new OperatorCertificate
        {
            Name = record.Name, Role = OperatorRepository.RoleWord(record.Role), CertificatePem = certificate.ExportCertificatePem(),
            CaPem = pki.Ca.CertificatePem, NotAfter = Timestamp.FromDateTimeOffset(notAfter),
        };
    }

    private static (string Id, string Secret, byte[] Hash, DateTimeOffset Expires) NewToken(uint ttlSeconds)
    {
        var ttl = ttlSeconds == 0 ? DefaultTokenLifetime : TimeSpan.FromSeconds(ttlSeconds);
        if (ttl > MaxTokenLifetime)
        {
            throw ApiError.Of(StatusCode.InvalidArgument, $"an operator enrollment token may be good for at most {MaxTokenLifetime.TotalDays:0} days");
        }
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        var id = RandomNumberGenerator.GetString(alphabet, 6);
        var secret = RandomNumberGenerator.GetString(alphabet, 24);
        return (id, secret, SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)), DateTimeOffset.UtcNow + ttl);
    }

    private OperatorEnrollment Enrollment(string name, string id, string secret, DateTimeOffset expires) =>
        new() { Name = name, Token = $"{id}.{secret}", ExpiresAt = Timestamp.FromDateTimeOffset(expires), CaHash = pki.Ca.Hash };

    private RpcException Refused(ServerCallContext context, string message)
    {
        refusals.Refused(context, StatusCode.PermissionDenied, message);
        return ApiError.Of(StatusCode.PermissionDenied, message);
    }
}
