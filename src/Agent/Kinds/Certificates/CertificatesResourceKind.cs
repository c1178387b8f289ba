using Hawser.Agent.Reconcile;
using Hawser.Agent.Resources;
using Hawser.Shared.Spec;
using Hawser.Shared.Spec.Kinds.Certificates;

namespace Hawser.Agent.Kinds.Certificates;

/// <summary>
/// Certificate files on this host, from the spec's source files in local mode or from the material the
/// controller supplied; a certificate without material fails alone, saying why.
/// </summary>
public sealed class CertificatesResourceKind : IResourceKind
{
    /// <inheritdoc/>
    public ISpecKind Spec => CertificatesKind.Instance;

    /// <inheritdoc/>
    public void AddResources(ResourceBlocks blocks, KindContext context, List<IResource> resources)
    {
        foreach (var certificate in blocks.Certificates ?? [])
        {
            resources.Add(Build(certificate, context));
        }
    }

    private static IResource Build(CertificateSpec certificate, KindContext context)
    {
        var id = $"certificate:{certificate.Name}";
        var supplied = $"{Fleet.DesiredStateFile.SuppliedCertificates}/{certificate.Name}";
        var source = certificate.Source
            ?? (File.Exists(context.Paths.Map($"{supplied}/fullchain.pem")) ? new CertificateSourceSpec { Cert = $"{supplied}/fullchain.pem", Key = $"{supplied}/privkey.pem" } : null);
        if (source is null)
        {
            return new UnavailableResource(id, $"{Shared.Protocol.StateWords.NoCertificateMaterial}: in local mode the spec names it with source: {{cert: FULLCHAIN, key: KEY}}; under the controller, the controller supplies it once it has obtained the certificate");
        }
        try
        {
            var mapped = new CertificateSourceSpec
            {
                // Absolute sources are host paths: normalised and kept beneath --root like targets.
                Cert = source.Cert.StartsWith('/') ? context.Area.ForRead(source.Cert) : source.Cert,
                Key = source.Key.StartsWith('/') ? context.Area.ForRead(source.Key) : source.Key,
            };
            return new CertificateFilesResource(certificate, CertificateMaterial.FromFiles(mapped, context.SpecDirectory));
        }
        catch (ResourceException ex)
        {
            return new UnavailableResource(id, ex.Message);
        }
    }
}
