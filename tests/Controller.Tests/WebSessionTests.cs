using System.Net;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>Web UI sessions as the README promises them: kept across a restart, ended when the admin token is replaced.</summary>
[TestClass]
public sealed class WebSessionTests
{
    private static async Task<string> LoginAsync(ControllerProcess controller)
    {
        using var client = controller.WebClient();
        using var login = await client.PostAsync("/login", new FormUrlEncodedContent([new("token", controller.WebToken)]));
        Assert.AreEqual(HttpStatusCode.Redirect, login.StatusCode, await login.Content.ReadAsStringAsync());
        return login.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
    }

    private static async Task<HttpStatusCode> NodesAsync(ControllerProcess controller, string cookie)
    {
        using var client = controller.WebClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/nodes") { Headers = { { "Cookie", cookie } } };
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [TestMethod]
    public async Task A_session_outlives_a_restart_and_ends_when_the_admin_token_file_is_replaced()
    {
        using var data = new TempDirectory();
        var cookie = "";
        await using (var first = await ControllerProcess.StartAsync(data.Path, extra: "--web-break-glass"))
        {
            cookie = await LoginAsync(first);
            Assert.AreEqual(HttpStatusCode.OK, await NodesAsync(first, cookie));
        }
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: "--web-break-glass");
        Assert.AreEqual(HttpStatusCode.OK, await NodesAsync(controller, cookie), "sessions live in the store: a restart logs nobody out");

        // The operator rotates the token (it leaked): every session made with the old one ends, a new login works.
        var tokenPath = Path.Join(data.Path, "ui-token");
        File.Delete(tokenPath);
        File.WriteAllText(tokenPath, "a-new-token-the-operator-chose-0123456789\n");
        File.SetUnixFileMode(tokenPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        Assert.AreEqual(HttpStatusCode.Unauthorized, await NodesAsync(controller, cookie));
        var renewed = await LoginAsync(controller);
        Assert.AreEqual(HttpStatusCode.OK, await NodesAsync(controller, renewed));
    }
}
