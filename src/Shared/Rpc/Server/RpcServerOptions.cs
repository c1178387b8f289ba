namespace Hawser.Shared.Rpc.Server;

/// <summary>Limits and defaults of an <see cref="RpcServer"/>.</summary>
public sealed record RpcServerOptions
{
    /// <summary>Largest request message accepted, after decompression; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; init; } = GrpcProtocol.DefaultMaxMessageSize;

    /// <summary>Largest response message sent; a handler writing a larger one ends the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxSendMessageSize { get; init; } = GrpcProtocol.DefaultMaxMessageSize;

    /// <summary>Default compression of responses (<c>gzip</c> or null), used when the client accepts it.</summary>
    public string? ResponseCompression { get; init; }
}
