using System.Net.Sockets;
using System.Text;

namespace Hawser.TestSupport;

/// <summary>A unix datagram socket standing in for systemd's $NOTIFY_SOCKET.</summary>
public sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    /// <summary>Binds at <paramref name="path"/>.</summary>
    public NotifySocket(string path)
    {
        Path = path;
        _socket.Bind(new UnixDomainSocketEndPoint(path));
    }

    /// <summary>The value for NOTIFY_SOCKET.</summary>
    public string Path { get; }

    /// <summary>The next datagram, as text; fails the test after <paramref name="timeout"/> (60 s).</summary>
    public async Task<string> ReceiveAsync(TimeSpan? timeout = null)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            var received = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return Encoding.UTF8.GetString(buffer, 0, received);
        }
        catch (OperationCanceledException)
        {
            throw new AssertFailedException($"nothing arrived on {Path} within {timeout ?? TimeSpan.FromSeconds(60)}");
        }
    }

    /// <summary>The next datagram, or null when none arrives within <paramref name="timeout"/>.</summary>
    public async Task<string?> TryReceiveAsync(TimeSpan timeout)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var received = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return Encoding.UTF8.GetString(buffer, 0, received);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _socket.Dispose();
}
