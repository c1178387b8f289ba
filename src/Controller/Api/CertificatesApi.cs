using Google.Protobuf.WellKnownTypes;
using Hawser.Controller.Acme;
using Hawser.Controller.Store;
using Hawser.Controller.Acme.Client;
using Hawser.Shared.Acme;
using Hawser.Shared.Protocol.V1;
using Grpc.Core;

namespace Hawser.Controller.Api;

/// <summary>The certificate methods of <c>hawser.v1.ControlService</c>: list, and renew now. Any operator lists them (one scoped by a selector, those of its nodes); renewing needs the operator role (and, for a scoped operator, <see cref="ScopedChanges.RenewAsync"/>).</summary>
public sealed class CertificatesApi(ControllerStore store, CertificateRenewer renewer)
{
    internal async Task<ListCertificatesResponse> ListCertificatesAsync(ListCertificatesRequest request, ServerCallContext context)
    {
        var response = new ListCertificatesResponse();
        var certificates = await ListAsync(store, renewer, context.CancellationToken);
        if (await OperatorScope.VisibleNodesAsync(store, context) is { } sees)
        {
            // A scoped operator sees the certificates of its nodes, and of those only its nodes.
            certificates = [.. certificates.Where(c => c.Nodes.Any(sees)).Select(c => Visible(c, sees))];
        }
        response.Certificates.Add(certificates);
        return response;
    }

    /// <summary>Every certificate the newest revision asks the controller for, as the API shows it (also the web UI's list).</summary>
    internal static async Task<List<Certificate>> ListAsync(ControllerStore store, CertificateRenewer renewer, CancellationToken cancellationToken)
    {
        var held = (await store.Certificates.ListAsync(cancellationToken)).ToDictionary(c => c.Name, StringComparer.Ordinal);
        var reports = await ReportsByNodeAsync(store, cancellationToken);
        return ((await renewer.CurrentPlanAsync(cancellationToken))?.Targets ?? []).Select(target => ToMessage(target, held.GetValueOrDefault(target.Name), reports)).ToList();
    }

    /// <summary>One certificate, as the API shows it.</summary>
    internal static async Task<Certificate> DescribeAsync(ControllerStore store, CertificateTarget target, IssuedCertificateRecord? held, CancellationToken cancellationToken) =>
        ToMessage(target, held, await ReportsByNodeAsync(store, cancellationToken));

    /// <summary>Per node, its last report: what it found installed and served.</summary>
    private static async Task<Dictionary<string, NodeReport>> ReportsByNodeAsync(ControllerStore store, CancellationToken cancellationToken) =>
        (await store.Nodes.ListAsync(cancellationToken)).Where(n => n.LastReport is not null).ToDictionary(n => n.Name, n => n.LastReport!, StringComparer.Ordinal);

    /// <summary>A certificate with only the nodes <paramref name="sees"/> lets through.</summary>
    internal static Certificate Visible(Certificate certificate, Func<string, bool> sees)
    {
        var visible = certificate.Clone();
        visible.Nodes.Clear();
        visible.Nodes.Add(certificate.Nodes.Where(sees));
        visible.Installed.Clear();
        visible.Installed.Add(certificate.Installed.Where(i => sees(i.Key)).ToDictionary(i => i.Key, i => i.Value));
        visible.Served.Clear();
        visible.Served.Add(certificate.Served.Where(s => sees(s.Node)));
        visible.NodeErrors.Clear();
        visible.NodeErrors.Add(certificate.NodeErrors.Where(e => sees(e.Key)).ToDictionary(e => e.Key, e => e.Value));
        return visible;
    }

    internal async Task<Certificate> RenewCertificateAsync(RenewCertificateRequest request, ServerCallContext context)
    {
        try
        {
            var (target, issued) = await renewer.RenewAsync(request.Name, null, context.CancellationToken, request.Force);
            return await DescribeAsync(store, target, issued, context.CancellationToken);
        }
        catch (CertificateOrderException ex)
        {
            throw ApiError.Of(StatusCode.FailedPrecondition, ex.Message);
        }
        catch (AcmeException ex)
        {
            // Not Unavailable: the controller answered; it is the CA that may be down (and is retried on its own).
            throw ApiError.Of(StatusCode.FailedPrecondition, $"certificate '{request.Name}': {ex.Message}"
                + (ex.IsTransient ? " (the controller retries this order on its own, backing off)" : ""));
        }
    }

    /// <summary>A certificate as the API shows it: the plan, what is held, and what each node reported installed and served.</summary>
    private static Certificate ToMessage(CertificateTarget target, IssuedCertificateRecord? held, IReadOnlyDictionary<string, NodeReport> reports)
    {
        var message = new Certificate { Name = target.Name, Serial = held?.Serial ?? "", LastError = held?.LastError ?? "", Issuer = held?.Serial is null ? "" : held.Issuer ?? "" };
        message.Domains.Add(target.Domains);
        message.Nodes.Add(target.Nodes);
        foreach (var node in target.Nodes)
        {
            var report = reports.GetValueOrDefault(node);
            message.Installed[node] = report?.InstalledCertificates.GetValueOrDefault(target.Name) ?? "";
            foreach (var served in report?.Served.Where(s => s.Certificate == target.Name) ?? [])
            {
                message.Served.Add(new CertificateServed
                {
                    Node = node, Target = served.Target, Serial = served.Serial, CoversName = served.CoversName, Error = served.Error,
                    NotAfter = served.NotAfter is { } end ? Timestamp.FromDateTimeOffset(end) : null,
                });
            }
            if (report?.Resources.FirstOrDefault(r => r.Kind == "certificate" && r.Name == target.Name && r.IsFailed) is { } failed)
            {
                message.NodeErrors[node] = failed.Error;
            }
        }
        if (held?.NotAfter is { } notAfter)
        {
            message.NotAfter = Timestamp.FromDateTimeOffset(notAfter);
        }
        if (held?.RenewAt is { } renewAt)
        {
            message.RenewAt = Timestamp.FromDateTimeOffset(renewAt);
        }
        if (held?.IssuedAt is { } issuedAt)
        {
            message.IssuedAt = Timestamp.FromDateTimeOffset(issuedAt);
        }
        if (held?.NextAttempt is { } next)
        {
            message.NextAttempt = Timestamp.FromDateTimeOffset(next);
        }
        if (held?.LastAttempt is { } attempt)
        {
            message.LastAttempt = Timestamp.FromDateTimeOffset(attempt);
        }
        return message;
    }
}
