using System.Net;
using Grpc.Core;
using Hawser.Controller.Hosting;
using Hawser.Shared.Transport;
using Hawser.Tests.Interop;
using Hawser.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;

namespace Hawser.Shared.Tests.Transport;

/// <summary>HTTP/2 over TLS with ALPN h2, a private CA and required client certificates (the agent-controller setup).</summary>
[TestClass]
public sealed class TlsTests
{
    private static TestCertificates _pki = null!;
    private static GrpcHost _host = null!;
    private static Uri _address = null!;

    [ClassInitialize]
    public static async Task ClassInitialize(TestContext _)
    {
        _pki = new TestCertificates();
        _host = await GrpcHost.StartAsync(
        [
            new GrpcListenOptions
            {
                EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                Certificate = _pki.IssueServer(),
                ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                ClientCertificateValidation = (certificate, _, _) => _pki.Validates(certificate),
            },
        ], services => services.AddSingleton(new InteropService()), app => app.MapGrpcService<InteropService>());
        _address = new Uri($"https://localhost:{_host.Addresses[0].Port}/");
    }

    [ClassCleanup]
    public static async Task ClassCleanup()
    {
        await _host.DisposeAsync();
        _pki.Dispose();
    }

    [TestMethod]
    public async Task Client_with_a_certificate_from_the_CA_is_served()
    {
        using var channel = ControllerChannel.Create(_address, new ControllerChannelOptions { TrustedCa = _pki.Ca, ClientCertificate = _pki.IssueClient("web1") });

        var reply = await new Interop.InteropClient(channel).EchoAsync(new EchoRequest { Message = "over tls" });

        Assert.AreEqual("over tls", reply.Message);
    }

    [TestMethod]
    public async Task Client_without_a_certificate_is_refused()
    {
        using var channel = ControllerChannel.Create(_address, new ControllerChannelOptions { TrustedCa = _pki.Ca });

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() => new Interop.InteropClient(channel).EchoAsync(new EchoRequest()).ResponseAsync);

        // Grpc.Net.Client reports a failed TLS handshake as INTERNAL, a connection the server dropped as UNAVAILABLE.
        Assert.IsTrue(ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal, ex.ToString());
    }

    [TestMethod]
    public async Task Server_certificate_from_another_CA_is_rejected_by_the_client()
    {
        using var otherPki = new TestCertificates("Some Other CA");
        using var channel = ControllerChannel.Create(_address, new ControllerChannelOptions { TrustedCa = otherPki.Ca, ClientCertificate = _pki.IssueClient("web1") });

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() => new Interop.InteropClient(channel).EchoAsync(new EchoRequest()).ResponseAsync);

        Assert.AreEqual(StatusCode.Internal, ex.StatusCode, ex.ToString());
        StringAssert.Contains(ex.Status.Detail, "SSL");
    }
}
