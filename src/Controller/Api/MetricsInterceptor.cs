using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Hawser.Controller.Hosting;

namespace Hawser.Controller.Api;

/// <summary>
/// Counts every gRPC call with its method, status code and latency (<c>hawser_rpc_duration_seconds</c>). It runs
/// outermost, so refusals by the authorization interceptor and failures turned INTERNAL are counted with their codes;
/// when the controller traces, it names each request's span by its method.
/// </summary>
public sealed class MetricsInterceptor(ControllerMetrics metrics) : Interceptor
{
    /// <inheritdoc/>
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation) => Measure(context, () => continuation(request, context));

    /// <inheritdoc/>
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation) => Measure(context, () => continuation(requestStream, context));

    /// <inheritdoc/>
    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        Measure(context, async () => { await continuation(request, responseStream, context); return true; });

    /// <inheritdoc/>
    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        Measure(context, async () => { await continuation(requestStream, responseStream, context); return true; });

    private async Task<T> Measure<T>(ServerCallContext context, Func<Task<T>> call)
    {
        // When traced: ASP.NET Core names every request span HttpRequestIn; a trace reads better with the method.
        if (Activity.Current is { Recorded: true } request && request.Source.Name == "Microsoft.AspNetCore")
        {
            request.DisplayName = context.Method;
        }
        var started = Stopwatch.GetTimestamp();
        var code = StatusCode.OK;
        try
        {
            return await call();
        }
        catch (RpcException ex)
        {
            code = ex.StatusCode;
            throw;
        }
        catch (OperationCanceledException)
        {
            code = StatusCode.Cancelled;
            throw;
        }
        catch
        {
            code = StatusCode.Unknown;
            throw;
        }
        finally
        {
            metrics.RecordRpc(context.Method, code, Stopwatch.GetElapsedTime(started));
        }
    }
}
