using System.Text.Json;
using Grpc.Core;
using Hawser.Shared.Pki;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Ctl.Tests;

/// <summary><c>hawserctl token create</c>, run as a real process, and what a token is worth at Join.</summary>
[TestClass]
public sealed class TokenCommandTests
{
    private static Task<ProcessResult> Ctl(params string[] arguments) => HawserProcesses.RunAsync("hawserctl", arguments);

    [TestMethod]
    [DataRow("--uses", "0", "--uses must be at least 1")]
    [DataRow("--uses", "-1", "--uses must be at least 1 and a whole number up to 1000000 (got '-1')")]
    [DataRow("--uses", "1e3", "--uses must be at least 1 and a whole number up to 1000000 (got '1e3')")]
    [DataRow("--uses", "4294967295", "--uses must be at least 1 and a whole number up to 1000000 (got '4294967295')")]
    [DataRow("--ttl", "-01:00:00", "--ttl must be a positive duration")]
    [DataRow("--ttl", "00:00:00.5", "--ttl must be a positive duration of at least 1s")]
    public async Task A_token_of_no_uses_or_no_lifetime_is_refused_before_any_call(string option, string value, string message)
    {
        // No controller at all: the command line is refused before anything is asked of one.
        var result = await Ctl("--controller", "http://127.0.0.1:1", "token", "create", option, value);

        Assert.AreEqual(64, result.ExitCode, result.Output);
        StringAssert.Contains(result.StandardError, message);
        Assert.DoesNotContain("cannot reach", result.StandardError);
    }

    [TestMethod]
    public async Task A_join_with_a_malformed_CSR_is_refused_and_does_not_use_up_the_token()
    {
        using var temp = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(temp.Path);
        var created = await Ctl("--config", controller.CtlConfig, "token", "create", "--uses", "1", "-o", "json");
        Assert.AreEqual(0, created.ExitCode, created.Output);
        var token = JsonDocument.Parse(created.StandardOutput).RootElement.GetProperty("token").GetString()!;
        using var channel = controller.Channel(admin: false);
        var enrollment = new EnrollmentService.EnrollmentServiceClient(channel);

        var refused = await Assert.ThrowsExactlyAsync<RpcException>(() => enrollment.JoinAsync(new JoinRequest
        {
            Token = token, NodeName = "web1", CsrDer = Google.Protobuf.ByteString.CopyFrom([0x30, 0x03, 0x02, 0x01, 0x00]),
        }).ResponseAsync);
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var joined = await enrollment.JoinAsync(new JoinRequest
        {
            Token = token, NodeName = "web1", CsrDer = Google.Protobuf.ByteString.CopyFrom(CertificateAuthority.CreateSigningRequest(key, "web1")),
        });

        Assert.AreEqual(StatusCode.InvalidArgument, refused.StatusCode);
        StringAssert.Contains(refused.Status.Detail, "the CSR is not a valid, self-signed PKCS#10 request");
        StringAssert.Contains(joined.CertificatePem, "BEGIN CERTIFICATE", "the token's one use was still there");
    }
}
