using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Hawser.Shared.Transport;

/// <summary>How a channel to the controller connects and what it accepts.</summary>
public sealed record ControllerChannelOptions
{
    /// <summary>Largest message sent or received (4 MiB, gRPC's usual limit); a larger one ends the call with RESOURCE_EXHAUSTED.</summary>
    public const int DefaultMaxMessageSize = 4 * 1024 * 1024;

    /// <summary>Largest response message accepted, after decompression.</summary>
    public int MaxReceiveMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>Largest request message sent; a larger one fails the call with RESOURCE_EXHAUSTED before it is sent.</summary>
    public int MaxSendMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>When set, the server's certificate must chain to this CA (instead of the system's roots).</summary>
    public X509Certificate2? TrustedCa { get; init; }

    /// <summary>
    /// Replaces the server certificate check entirely. Only for a first contact whose answer is
    /// verified another way (an agent fetching the CA it then checks against its pinned hash).
    /// </summary>
    public Func<X509Certificate2, bool>? ServerCertificateOverride { get; init; }

    /// <summary>Certificate (with private key) presented to servers that ask for one.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>Idle time before an HTTP/2 PING checks the connection; <see cref="Timeout.InfiniteTimeSpan"/> turns pings off.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait for a PING's answer before the connection is declared dead.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long to wait for the TCP and TLS connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The address to dial instead of resolving the URL's host (one of the addresses a name has); TLS still checks
    /// the certificate against the URL's host name.
    /// </summary>
    public IPAddress? ConnectTo { get; init; }
}
