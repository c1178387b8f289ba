using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Hawser.TestSupport;

namespace Hawser.Web.Tests;

/// <summary>Web logins against a real controller: a per-address back-off after wrong tokens, and a token file removed while it runs.</summary>
[TestClass]
public sealed class LoginThrottleTests
{
    /// <summary>An HTTP client of <paramref name="controller"/> (its CA trusted) whose connections come from <paramref name="source"/> (any 127.0.0.0/8 address is local).</summary>
    private static HttpClient ClientFrom(ControllerProcess controller, string source) => new(new SocketsHttpHandler
    {
        SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => controller.IsServedBy(certificate) },
        AllowAutoRedirect = false,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    });

    private static async Task<HttpResponseMessage> LoginAsync(HttpClient client, ControllerProcess controller, string token) =>
        await client.PostAsync(new Uri(controller.Address, "/login"), new FormUrlEncodedContent([new("token", token)]));

    private static string Token(ControllerProcess controller) => controller.WebToken;

    [TestMethod]
    public async Task Wrong_logins_from_one_address_back_off_while_another_address_logs_in()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: "--web-break-glass");
        using var attacker = ClientFrom(controller, "127.0.0.1");
        using var operatorClient = ClientFrom(controller, "127.0.0.2");
        var looked = 0;
        var held = 0;
        string? retryAfter = null;

        for (var i = 0; i < 200; i++)
        {
            using var response = await LoginAsync(attacker, controller, $"guess-{i}");
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                looked++;
            }
            else
            {
                Assert.AreEqual(HttpStatusCode.TooManyRequests, response.StatusCode);
                held++;
                retryAfter ??= response.Headers.RetryAfter?.ToString();
                StringAssert.Contains(await response.Content.ReadAsStringAsync(), "Too many logins from 127.0.0.1");
            }
        }
        using var operatorLogin = await LoginAsync(operatorClient, controller, Token(controller));

        // A burst of five, then one more every 10 s: a handful of the 200 are even compared.
        Assert.IsLessThanOrEqualTo(12, looked, $"{looked} of 200 guesses were compared");
        Assert.IsGreaterThanOrEqualTo(188, held);
        Assert.IsNotNull(retryAfter, "a held attempt says when to retry");
        Assert.AreEqual(HttpStatusCode.Redirect, operatorLogin.StatusCode, "another address is not held up");
    }

    [TestMethod]
    public async Task A_token_file_removed_while_running_fails_the_login_cleanly_and_a_new_one_works()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: "--web-break-glass");
        using var client = ClientFrom(controller, "127.0.0.3");
        var old = Token(controller);
        File.Delete(Path.Combine(controller.DataDirectory, "ui-token"));

        using var refused = await LoginAsync(client, controller, old);
        var page = await refused.Content.ReadAsStringAsync();
        using var fresh = await LoginAsync(client, controller, Token(controller));

        Assert.AreEqual(HttpStatusCode.Unauthorized, refused.StatusCode, page);
        StringAssert.Contains(page, "The token file was missing");
        // The page is shown to anyone who can reach the port: it names the file, not where the controller keeps its data (item 16).
        Assert.DoesNotContain(controller.DataDirectory, page);
        Assert.DoesNotContain(controller.DataDirectory, await (await client.GetAsync(new Uri(controller.Address, "/login"))).Content.ReadAsStringAsync());
        Assert.AreNotEqual(old, Token(controller));
        Assert.AreEqual(HttpStatusCode.Redirect, fresh.StatusCode);
    }
}
