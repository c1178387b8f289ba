using Microsoft.AspNetCore.Http;

namespace Hawser.Shared.Rpc.Server;

/// <summary>What a handler knows about, and can set on, the call it serves.</summary>
public abstract class ServerCallContext
{
    /// <summary>The method's path, <c>/Service/Method</c>.</summary>
    public abstract string Method { get; }

    /// <summary>The peer's address, <c>ipv4:1.2.3.4:5678</c> or <c>ipv6:[::1]:5678</c>.</summary>
    public abstract string Peer { get; }

    /// <summary>When the call's deadline passes (UTC); <see cref="DateTime.MaxValue"/> when the client set none.</summary>
    public abstract DateTime Deadline { get; }

    /// <summary>The custom metadata the client sent.</summary>
    public abstract Metadata RequestHeaders { get; }

    /// <summary>Cancelled when the client cancels, disconnects or the deadline passes.</summary>
    public abstract CancellationToken CancellationToken { get; }

    /// <summary>Metadata sent with the status at the end of the call.</summary>
    public abstract Metadata ResponseTrailers { get; }

    /// <summary>
    /// Compression for response messages (<c>gzip</c> or null); used only when the client accepts it.
    /// Set it before the first response is written.
    /// </summary>
    public abstract string? ResponseCompression { get; set; }

    /// <summary>The underlying HTTP/2 exchange, for the TLS client certificate and connection details.</summary>
    public abstract HttpContext HttpContext { get; }

    /// <summary>Sends response headers with this metadata now; at most once, before any message.</summary>
    public abstract Task WriteResponseHeadersAsync(Metadata headers);
}
