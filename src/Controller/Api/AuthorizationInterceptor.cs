using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Hawser.Controller.Api;

/// <summary>
/// Checks every call against <see cref="MethodAuthorization.Table"/> before its handler runs, and
/// hands the handler the caller's identity (<see cref="CallerIdentity.Of"/>).
/// </summary>
public sealed class AuthorizationInterceptor(CallerIdentity callers) : Interceptor
{
    /// <inheritdoc/>
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await callers.AuthorizeAsync(context);
        return await continuation(request, context);
    }

    /// <inheritdoc/>
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await callers.AuthorizeAsync(context);
        return await continuation(requestStream, context);
    }

    /// <inheritdoc/>
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await callers.AuthorizeAsync(context);
        await continuation(request, responseStream, context);
    }

    /// <inheritdoc/>
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await callers.AuthorizeAsync(context);
        await continuation(requestStream, responseStream, context);
    }
}
