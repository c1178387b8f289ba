using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Transport;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>A channel that dials one of a name's addresses (what an agent does for a name with several) against a real controller.</summary>
[TestClass]
public sealed class ConnectToTests
{
    [TestMethod]
    public async Task A_channel_dials_the_address_it_is_given_and_still_checks_the_certificate_against_the_urls_name()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Join(data.Path, "pki", "ca.crt"));
        var port = controller.Address.Port;

        // The serving certificate names localhost; the address given is where the controller listens.
        using (var channel = ControllerChannel.Create(new Uri($"https://localhost:{port}"), new ControllerChannelOptions { TrustedCa = ca, ConnectTo = IPAddress.Loopback }))
        {
            var answer = await new EnrollmentService.EnrollmentServiceClient(channel).GetCaAsync(new GetCaRequest());
            StringAssert.StartsWith(answer.CaPem, "-----BEGIN CERTIFICATE-----");
        }
        // Another address of the name: nothing listens there.
        using (var channel = ControllerChannel.Create(new Uri($"https://localhost:{port}"), new ControllerChannelOptions
        {
            TrustedCa = ca, ConnectTo = IPAddress.Parse("127.0.0.77"), ConnectTimeout = TimeSpan.FromSeconds(5),
        }))
        {
            var refused = await Assert.ThrowsExactlyAsync<RpcException>(async () => await new EnrollmentService.EnrollmentServiceClient(channel).GetCaAsync(new GetCaRequest()));
            Assert.AreEqual(StatusCode.Unavailable, refused.StatusCode);
        }
        // A name the certificate does not carry is refused, whatever address is dialled.
        using (var channel = ControllerChannel.Create(new Uri($"https://ctl.invalid:{port}"), new ControllerChannelOptions { TrustedCa = ca, ConnectTo = IPAddress.Loopback }))
        {
            var refused = await Assert.ThrowsExactlyAsync<RpcException>(async () => await new EnrollmentService.EnrollmentServiceClient(channel).GetCaAsync(new GetCaRequest()));
            StringAssert.Contains(refused.Status.Detail, "The remote certificate was rejected", "the TLS handshake refused the certificate");
        }
    }
}
