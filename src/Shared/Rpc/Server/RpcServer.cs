using System.Collections.Frozen;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hawser.Shared.Rpc.Server;

/// <summary>
/// The methods a process serves over gRPC, each mapped to a typed handler; plugged into Kestrel
/// with <see cref="RpcApplicationBuilderExtensions.UseRpc"/>.
/// </summary>
public sealed class RpcServer
{
    private readonly Dictionary<string, RequestDelegate> _methods = new(StringComparer.Ordinal);
    private FrozenDictionary<string, RequestDelegate>? _frozen;
    private readonly ILogger _logger;

    /// <summary>Creates a server with the given limits.</summary>
    public RpcServer(RpcServerOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        Options = options ?? new RpcServerOptions();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Hawser.Rpc");
    }

    /// <summary>The limits and defaults in force.</summary>
    public RpcServerOptions Options { get; }

    /// <summary>The paths of every mapped method.</summary>
    public IEnumerable<string> Paths => _methods.Keys;

    /// <summary>Maps a unary method.</summary>
    public RpcServer MapUnary<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        Map(method, MethodType.Unary, async call =>
        {
            var request = await call.ReadSingleRequestAsync().ConfigureAwait(false);
            var response = await handler(request, call).ConfigureAwait(false);
            await call.WriteUnaryResponseAsync(response).ConfigureAwait(false);
        });

    /// <summary>Maps a server-streaming method.</summary>
    public RpcServer MapServerStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        Map(method, MethodType.ServerStreaming, async call =>
        {
            var request = await call.ReadSingleRequestAsync().ConfigureAwait(false);
            await handler(request, call, call).ConfigureAwait(false);
        });

    /// <summary>Maps a client-streaming method.</summary>
    public RpcServer MapClientStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        Map(method, MethodType.ClientStreaming, async call =>
        {
            var response = await handler(call.ReadAllRequestsAsync(), call).ConfigureAwait(false);
            await call.WriteUnaryResponseAsync(response).ConfigureAwait(false);
        });

    /// <summary>Maps a bidirectional streaming method.</summary>
    public RpcServer MapDuplexStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        Map(method, MethodType.DuplexStreaming, call => handler(call.ReadAllRequestsAsync(), call, call));

    /// <summary>
    /// Serves the request when it is a gRPC call: a mapped method, or any <c>application/grpc</c>
    /// request for a path nobody mapped (answered UNIMPLEMENTED). Returns false for everything else.
    /// </summary>
    public async Task<bool> TryHandleAsync(HttpContext context)
    {
        var methods = _frozen ??= _methods.ToFrozenDictionary(StringComparer.Ordinal);
        if (methods.TryGetValue(context.Request.Path.Value ?? string.Empty, out var handle))
        {
            await handle(context).ConfigureAwait(false);
            return true;
        }
        if (!GrpcProtocol.IsGrpcContentType(context.Request.ContentType))
        {
            return false;
        }
        TrailersOnlyResponse.Write(context.Response, StatusCode.Unimplemented, $"Method {context.Request.Path} is not implemented by this server");
        return true;
    }

    private RpcServer Map<TRequest, TResponse>(Method<TRequest, TResponse> method, MethodType expected,
        Func<ServerCall<TRequest, TResponse>, Task> invoke)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        if (method.Type != expected)
        {
            throw new ArgumentException($"{method.Path} is {method.Type}, not {expected}", nameof(method));
        }
        if (_frozen is not null)
        {
            throw new InvalidOperationException("Methods must be mapped before the server handles its first request");
        }
        if (!_methods.TryAdd(method.Path, Handle))
        {
            throw new ArgumentException($"{method.Path} is already mapped", nameof(method));
        }
        return this;

        async Task Handle(HttpContext context)
        {
            using var call = new ServerCall<TRequest, TResponse>(context, method, Options, _logger);
            await call.RunAsync(invoke).ConfigureAwait(false);
        }
    }
}
