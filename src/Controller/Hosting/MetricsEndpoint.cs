using System.Net;
using Hawser.Controller.Pki;
using Hawser.Shared.Pki;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Hawser.Controller.Hosting;

/// <summary>
/// <c>GET /metrics</c> in Prometheus's text exposition format, on the controller's TLS port. A scrape must present
/// a live operator's client certificate (any role: metrics are a read) or <c>Authorization: Bearer TOKEN</c> with the token from <see cref="TokenFileName"/>
/// in the data directory (0600); anything else is 401, and nothing is measured for it.
/// </summary>
public static class MetricsEndpoint
{
    /// <summary>The scrape token's file in the data directory.</summary>
    public const string TokenFileName = "metrics-token";

    /// <summary>The path scraped.</summary>
    public const string Path = "/metrics";

    /// <summary>Registers the exporter for <see cref="ControllerMetrics.MeterName"/>.</summary>
    public static void AddServices(IServiceCollection services) =>
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(ControllerMetrics.MeterName).AddPrometheusExporter());

    /// <summary>Maps the endpoint behind its credential check.</summary>
    public static void Map(WebApplication app, TokenFile token, ControllerMetrics metrics, Api.CallerIdentity callers)
    {
        app.Use(async (context, next) =>
        {
            if (context.Request.Path == Path && !await AuthorizedAsync(context, token, callers))
            {
                context.Response.StatusCode = (int)HttpStatusCode.Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await context.Response.WriteAsync($"scraping needs an operator's client certificate or the bearer token in {token.Path}\n");
                return;
            }
            if (context.Request.Path == Path)
            {
                await metrics.RefreshAsync(context.RequestAborted);
            }
            await next(context);
        });
        app.MapPrometheusScrapingEndpoint(Path);
    }

    private static async Task<bool> AuthorizedAsync(HttpContext context, TokenFile token, Api.CallerIdentity callers)
    {
        if (context.Connection.ClientCertificate is { } certificate
            && (await callers.OperatorAsync(Identity.Of(certificate), context.RequestAborted)).Operator is not null)
        {
            return true;
        }
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal) && token.Check(header["Bearer ".Length..]) == TokenCheck.Matches;
    }
}
