using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Hawser.TestSupport;

/// <summary>
/// A web UI client of a controller that signs in with a client certificate, as a browser holding an operator's certificate
/// does, from its own loopback address (the login rate limit counts per address). <see cref="Csrf"/> is the page's
/// antiforgery token once signed in, null when the sign-in was refused (<see cref="Refusal"/> says how).
/// </summary>
public sealed class WebSignInClient : IDisposable
{
    private WebSignInClient(HttpClient client) => Client = client;

    /// <summary>The client, keeping its cookies.</summary>
    public HttpClient Client { get; }

    /// <summary>The antiforgery token of the signed-in page, or null.</summary>
    public string? Csrf { get; private set; }

    /// <summary>The login's answer when it was refused: status and page.</summary>
    public string? Refusal { get; private set; }

    /// <summary>Signs in with <paramref name="certificate"/> (none: no certificate at all) from <paramref name="source"/>.</summary>
    public static async Task<WebSignInClient> SignInAsync(ControllerProcess controller, X509Certificate2? certificate, IPAddress source)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, served, _, _) => controller.IsServedBy(served) },
            AllowAutoRedirect = false,
            CookieContainer = new CookieContainer(),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        if (certificate is not null)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }
        var signedIn = new WebSignInClient(new HttpClient(handler) { BaseAddress = controller.Address });
        using var login = await signedIn.Client.PostAsync("/login", new FormUrlEncodedContent([new("method", "certificate")]));
        if (login.StatusCode == HttpStatusCode.Redirect)
        {
            await signedIn.RefreshCsrfAsync();
        }
        else
        {
            signedIn.Refusal = $"{(int)login.StatusCode} {await login.Content.ReadAsStringAsync()}";
        }
        return signedIn;
    }

    /// <summary>Reads the antiforgery token of the session anew (a new sign-in made a new one).</summary>
    public async Task RefreshCsrfAsync() =>
        Csrf = System.Text.RegularExpressions.Regex.Match(await Client.GetStringAsync("/"), "name=\"csrf-token\" content=\"([^\"]+)\"").Groups[1].Value;

    /// <summary>POSTs JSON to the API with the antiforgery token.</summary>
    public async Task<HttpResponseMessage> PostJsonAsync(string path, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("X-CSRF-Token", Csrf);
        return await Client.SendAsync(request);
    }

    /// <inheritdoc/>
    public void Dispose() => Client.Dispose();
}
