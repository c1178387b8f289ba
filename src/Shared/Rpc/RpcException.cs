namespace Hawser.Shared.Rpc;

/// <summary>A call ended with a non-OK status; thrown by clients, and by handlers to end a call with that status.</summary>
public sealed class RpcException : Exception
{
    /// <summary>Creates an exception carrying a status and, optionally, trailing metadata.</summary>
    public RpcException(StatusCode statusCode, string detail, Metadata? trailers = null, Exception? inner = null)
        : base($"Status({statusCode}, \"{detail}\")", inner)
    {
        StatusCode = statusCode;
        Detail = detail;
        Trailers = trailers ?? new Metadata();
    }

    /// <summary>The call's status code.</summary>
    public StatusCode StatusCode { get; }

    /// <summary>The status message (grpc-message), already decoded.</summary>
    public string Detail { get; }

    /// <summary>Trailing metadata of the call.</summary>
    public Metadata Trailers { get; }
}
