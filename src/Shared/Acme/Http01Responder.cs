using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using Hawser.Shared.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hawser.Shared.Acme;

/// <summary>
/// Answers HTTP-01 validation requests (RFC 8555 section 8.3): <c>GET /.well-known/acme-challenge/TOKEN</c>
/// with the key authorization pushed for that token. With the account key's thumbprint set, a token
/// that was never pushed (a host that missed the push) is still answered statelessly as
/// TOKEN.THUMBPRINT, which is what the key authorization is by definition; without it, 404.
/// </summary>
public sealed partial class Http01Responder : IAsyncDisposable
{
    /// <summary>The path prefix the CA asks under.</summary>
    public const string PathPrefix = "/.well-known/acme-challenge/";

    private readonly ConcurrentDictionary<string, string> _answers = new(StringComparer.Ordinal);
    private readonly WebApplication _app;

    private Http01Responder(WebApplication app) => _app = app;

    /// <summary>The account key's thumbprint for the stateless fallback; null turns the fallback off.</summary>
    public string? Thumbprint { get; set; }

    /// <summary>Called for each answered request: the token, "pushed" or "stateless", and who asked.</summary>
    public Action<string, string, IPAddress?>? Answered { get; set; }

    /// <summary>How many requests were answered, by whom: pushed or stateless (for logs and tests).</summary>
    public (long Pushed, long Stateless, long NotFound) Counts => (_pushed, _stateless, _notFound);

    private long _pushed;
    private long _stateless;
    private long _notFound;

    /// <summary>Listens on <paramref name="endpoint"/> (port 80 in production) and returns once bound.</summary>
    public static async Task<Http01Responder> StartAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, PassiveHostLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(endpoint, options => options.Protocols = HttpProtocols.Http1);
        });
        var app = builder.Build();
        var responder = new Http01Responder(app);
        app.Run(responder.HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        // A taken port is Kestrel's AddressInUseException (an InvalidOperationException); no permission, a SocketException.
        catch (Exception ex) when (ex is IOException or InvalidOperationException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            await app.DisposeAsync();
            throw new IOException($"cannot listen on {endpoint} for HTTP-01: {ex.Message}", ex);
        }
        return responder;
    }

    /// <summary>Answers <paramref name="token"/> with <paramref name="keyAuthorization"/> until removed.</summary>
    public void Put(string token, string keyAuthorization) => _answers[token] = keyAuthorization;

    /// <summary>Stops answering <paramref name="token"/> from memory.</summary>
    public bool Remove(string token) => _answers.TryRemove(token, out _);

    /// <summary>The tokens held now.</summary>
    public IReadOnlyCollection<string> Tokens => [.. _answers.Keys];

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method) || !path.StartsWith(PathPrefix, StringComparison.Ordinal))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var token = path[PathPrefix.Length..];
        string? answer;
        if (_answers.TryGetValue(token, out answer))
        {
            Interlocked.Increment(ref _pushed);
            Answered?.Invoke(token, "pushed", context.Connection.RemoteIpAddress);
        }
        else if (Thumbprint is { } thumbprint && TokenPattern().IsMatch(token))
        {
            answer = $"{token}.{thumbprint}";
            Interlocked.Increment(ref _stateless);
            Answered?.Invoke(token, "stateless", context.Connection.RemoteIpAddress);
        }
        if (answer is null)
        {
            Interlocked.Increment(ref _notFound);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        context.Response.ContentType = "application/octet-stream";
        await context.Response.WriteAsync(answer, context.RequestAborted);
    }

    // Section 8.3: a token is base64url, at least 128 bits of entropy (22 characters).
    [GeneratedRegex("^[A-Za-z0-9_-]{22,128}$")]
    private static partial Regex TokenPattern();

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
