using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Hawser.Shared.Pki;
using Hawser.Shared.Protocol.V1;

namespace Hawser.TestSupport;

/// <summary>A node enrolled by the test itself (no agent process): a real join, a real node certificate with its key.</summary>
public static class NodeEnrollment
{
    /// <summary>
    /// Joins as <paramref name="name"/> with <paramref name="token"/> over <paramref name="anonymous"/> (a channel without a
    /// client certificate) and returns the node's certificate with its private key. A rate-limited join (many at once from
    /// one address) is tried again after a short pause, as a real agent does.
    /// </summary>
    public static async Task<X509Certificate2> JoinAsync(GrpcChannel anonymous, string token, string name, CancellationToken cancellationToken = default)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new JoinRequest { Token = token, NodeName = name, CsrDer = Google.Protobuf.ByteString.CopyFrom(CertificateAuthority.CreateSigningRequest(key, name)) };
        while (true)
        {
            try
            {
                var joined = await new EnrollmentService.EnrollmentServiceClient(anonymous).JoinAsync(request, cancellationToken: cancellationToken);
                using var certificate = X509Certificate2.CreateFromPem(joined.CertificatePem).CopyWithPrivateKey(key);
                return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(200, 1000)), cancellationToken);
            }
        }
    }
}
