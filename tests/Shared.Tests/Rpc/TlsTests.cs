using System.Net;
using Hawser.Shared.Rpc;
using Hawser.Shared.Rpc.Client;
using Hawser.Shared.Rpc.Server;
using Hawser.Tests.Interop;
using Hawser.TestSupport;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Hawser.Shared.Tests.Rpc;

/// <summary>HTTP/2 over TLS with ALPN h2, a private CA and required client certificates (the agent-controller setup).</summary>
[TestClass]
public sealed class TlsTests
{
    private static TestCertificates _pki = null!;
    private static RpcHost _host = null!;
    private static Uri _address = null!;

    [ClassInitialize]
    public static async Task ClassInitialize(TestContext _)
    {
        _pki = new TestCertificates();
        var server = new InteropService().MapTo(new RpcServer());
        _host = await RpcHost.StartAsync(server,
        [
            new RpcListenOptions
            {
                EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                Certificate = _pki.IssueServer(),
                ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                ClientCertificateValidation = (certificate, _, _) => _pki.Validates(certificate),
            },
        ]);
        _address = new Uri($"https://localhost:{_host.Addresses[0].Port}/");
    }

    [ClassCleanup]
    public static async Task ClassCleanup()
    {
        await _host.DisposeAsync();
        _pki.Dispose();
    }

    [TestMethod]
    public async Task Client_with_a_certificate_from_the_CA_is_served_and_identified()
    {
        using var channel = new RpcChannel(_address, new RpcChannelOptions { TrustedCa = _pki.Ca, ClientCertificate = _pki.IssueClient("web1") });

        var reply = await channel.UnaryAsync(InteropMethods.Echo, new EchoRequest { Message = "over tls" });

        Assert.AreEqual("over tls", reply.Message);
    }

    [TestMethod]
    public async Task Client_without_a_certificate_is_refused()
    {
        using var channel = new RpcChannel(_address, new RpcChannelOptions { TrustedCa = _pki.Ca });

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() => channel.UnaryAsync(InteropMethods.Echo, new EchoRequest()));

        Assert.AreEqual(StatusCode.Unavailable, ex.StatusCode);
    }

    [TestMethod]
    public async Task Server_certificate_from_another_CA_is_rejected_by_the_client()
    {
        using var otherPki = new TestCertificates("Some Other CA");
        using var channel = new RpcChannel(_address, new RpcChannelOptions { TrustedCa = otherPki.Ca, ClientCertificate = _pki.IssueClient("web1") });

        var ex = await Assert.ThrowsExactlyAsync<RpcException>(() => channel.UnaryAsync(InteropMethods.Echo, new EchoRequest()));

        Assert.AreEqual(StatusCode.Unavailable, ex.StatusCode);
        StringAssert.Contains(ex.Detail, "SSL");
    }

    [TestMethod]
    public async Task Http1_request_gets_426_upgrade_required()
    {
        using var handler = new SocketsHttpHandler { UseProxy = false };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && _pki.Validates(new System.Security.Cryptography.X509Certificates.X509Certificate2(certificate));
        handler.SslOptions.ClientCertificates = [_pki.IssueClient("web1")];
        using var client = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_address, "/hawser.test.Interop/Echo"))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(RawGrpcRequest.Frame([])),
        };
        request.Content.Headers.ContentType = new("application/grpc");

        using var response = await client.SendAsync(request);

        Assert.AreEqual(HttpStatusCode.UpgradeRequired, response.StatusCode);
    }
}
