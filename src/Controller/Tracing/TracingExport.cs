using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Hawser.Controller.Tracing;

/// <summary>Exports traces with OpenTelemetry's OTLP exporter (HTTP, protobuf): the controller's spans, ASP.NET Core's request spans and the agents' converges.</summary>
public static class TracingExport
{
    /// <summary>Registers the tracer provider exporting to <paramref name="endpoint"/>'s <c>v1/traces</c>.</summary>
    public static void AddServices(IServiceCollection services, Uri endpoint) =>
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("hawser-controller"))
            .WithTracing(tracing => tracing
                // Request spans take their parent from the caller's traceparent (hawserctl apply --trace).
                .AddSource(ControllerTracing.SourceName, "Microsoft.AspNetCore")
                .AddOtlpExporter(otlp =>
                {
                    otlp.Protocol = OtlpExportProtocol.HttpProtobuf;
                    otlp.Endpoint = new Uri(endpoint, "v1/traces");
                    // Spans leave within a second of ending, not after the default five.
                    otlp.BatchExportProcessorOptions.ScheduledDelayMilliseconds = 1000;
                }));
}
