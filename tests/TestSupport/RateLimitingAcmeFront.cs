using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hawser.TestSupport;

/// <summary>
/// A stand-in for one answer Pebble cannot give: a CA's rate limit. It serves Pebble's directory with newOrder pointing
/// at itself and answers every new order <c>429</c> with an RFC 8555 <c>rateLimited</c> problem and <c>Retry-After</c>;
/// everything else (nonces, accounts) goes to the real Pebble. It uses Pebble's own TLS certificate, so a client that
/// trusts <see cref="PebbleServer.TlsCaFile"/> trusts it.
/// </summary>
public sealed class RateLimitingAcmeFront : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<DateTimeOffset> _orders = [];

    private RateLimitingAcmeFront(WebApplication app, Uri directory)
    {
        _app = app;
        Directory = directory;
    }

    /// <summary>The directory URL to give the controller instead of Pebble's.</summary>
    public Uri Directory { get; }

    /// <summary>When each new order arrived (all refused).</summary>
    public IReadOnlyList<DateTimeOffset> Orders
    {
        get
        {
            lock (_orders)
            {
                return [.. _orders];
            }
        }
    }

    /// <summary>Starts the front for <paramref name="pebble"/>; each order is told to come back after <paramref name="retryAfter"/>.</summary>
    public static async Task<RateLimitingAcmeFront> StartAsync(PebbleServer pebble, TimeSpan retryAfter)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var certificate = X509Certificate2.CreateFromPemFile(pebble.CertificateFile, pebble.KeyFile);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
        var app = builder.Build();
        RateLimitingAcmeFront? front = null;
        using var upstream = pebble.CreateClient();
        var directory = JsonNode.Parse(await upstream.GetStringAsync(pebble.Directory))!;
        app.MapGet("/dir", () => Results.Text(directory.ToJsonString(), "application/json"));
        app.MapPost("/new-order", (HttpContext context) =>
        {
            lock (front!._orders)
            {
                front._orders.Add(DateTimeOffset.UtcNow);
            }
            context.Response.Headers.RetryAfter = ((int)retryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.Text("""{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many new orders recently (test stand-in)","status":429}""",
                "application/problem+json", statusCode: 429);
        });
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        directory["newOrder"] = $"https://127.0.0.1:{port}/new-order";
        front = new RateLimitingAcmeFront(app, new Uri($"https://127.0.0.1:{port}/dir"));
        return front;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
