namespace Hawser.Shared.Rpc.Client;

/// <summary>Per-call settings.</summary>
public sealed record CallOptions
{
    /// <summary>Custom metadata sent with the request headers.</summary>
    public Metadata? Headers { get; init; }

    /// <summary>When the call must be done (UTC); sent as grpc-timeout and enforced locally too.</summary>
    public DateTime? Deadline { get; init; }

    /// <summary>Cancels the call; the server sees the stream reset.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Compression of request messages: <c>gzip</c>, or null for none.</summary>
    public string? Compression { get; init; }

    /// <summary>Options with a deadline <paramref name="timeout"/> from now.</summary>
    public static CallOptions WithTimeout(TimeSpan timeout) => new() { Deadline = DateTime.UtcNow + timeout };
}
