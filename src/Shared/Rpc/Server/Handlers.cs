namespace Hawser.Shared.Rpc.Server;

/// <summary>Handles a unary call: one request, one response.</summary>
public delegate Task<TResponse> UnaryHandler<TRequest, TResponse>(TRequest request, ServerCallContext context);

/// <summary>Handles a server-streaming call: one request, responses written to <c>responses</c>.</summary>
public delegate Task ServerStreamingHandler<TRequest, TResponse>(
    TRequest request, IServerStreamWriter<TResponse> responses, ServerCallContext context);

/// <summary>Handles a client-streaming call: requests read from <c>requests</c>, one response.</summary>
public delegate Task<TResponse> ClientStreamingHandler<TRequest, TResponse>(
    IAsyncEnumerable<TRequest> requests, ServerCallContext context);

/// <summary>Handles a bidirectional call: requests and responses flow independently.</summary>
public delegate Task DuplexStreamingHandler<TRequest, TResponse>(
    IAsyncEnumerable<TRequest> requests, IServerStreamWriter<TResponse> responses, ServerCallContext context);

/// <summary>Writes response messages of a streaming call.</summary>
public interface IServerStreamWriter<in T>
{
    /// <summary>Sends one message and flushes it to the peer.</summary>
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}
