using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Api;

/// <summary>
/// The last word on a handler's unexpected exception (a failing store, a bug): it is logged with the
/// method and the peer, and the client reads INTERNAL with the reason instead of
/// "Exception was thrown by handler" as UNKNOWN with nothing in the log.
/// </summary>
public sealed class FailureInterceptor(ILogger logger) : Interceptor
{
    /// <inheritdoc/>
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (Unexpected(ex, context))
        {
            throw Internal(ex);
        }
    }

    /// <inheritdoc/>
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception ex) when (Unexpected(ex, context))
        {
            throw Internal(ex);
        }
    }

    /// <inheritdoc/>
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (Unexpected(ex, context))
        {
            throw Internal(ex);
        }
    }

    /// <inheritdoc/>
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception ex) when (Unexpected(ex, context))
        {
            throw Internal(ex);
        }
    }

    /// <summary>True (after logging it) for an exception no handler meant to send; a status or a cancelled call passes through.</summary>
    private bool Unexpected(Exception ex, ServerCallContext context)
    {
        if (ex is RpcException || (ex is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
        {
            return false;
        }
        Hawser.Controller.ControllerLog.HandlerFailed(logger, context.Method, context.Peer, $"{ex.GetType().Name}: {ex.Message}");
        return true;
    }

    private static RpcException Internal(Exception ex) =>
        ApiError.Of(StatusCode.Internal, $"the controller failed: {ex.Message} (logged on the controller)");
}
