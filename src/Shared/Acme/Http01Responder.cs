using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Hawser.Shared.Acme;

/// <summary>
/// Answers HTTP-01 validation requests (RFC 8555 section 8.3): <c>GET /.well-known/acme-challenge/TOKEN</c>
/// with the key authorization pushed for that token. With the account key's thumbprint set, a token
/// that was never pushed (a host that missed the push) is still answered statelessly as
/// TOKEN.THUMBPRINT, which is what the key authorization is by definition; without it, 404.
/// </summary>
/// <remarks>
/// A plain socket server on purpose: the exchange is one GET and one small answer, and Kestrel with
/// its host added 14.5 MiB to the agent's idle RSS (tests/Benchmarks/README.md). It reads only the
/// request line and the end of the headers (at most 8 KiB), answers, and closes.
/// </remarks>
public sealed partial class Http01Responder : IAsyncDisposable
{
    /// <summary>The path prefix the CA asks under.</summary>
    public const string PathPrefix = "/.well-known/acme-challenge/";

    private const int MaxRequest = 8192;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, string> _answers = new(StringComparer.Ordinal);
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private long _pushed;
    private long _stateless;
    private long _notFound;

    private Http01Responder(Socket listener)
    {
        _listener = listener;
        _accepting = AcceptAsync();
    }

    /// <summary>The account key's thumbprint for the stateless fallback; null turns the fallback off.</summary>
    public string? Thumbprint { get; set; }

    /// <summary>Called for each answered request: the token, "pushed", "stateless" or "preflight probe", and who asked.</summary>
    public Action<string, string, IPAddress?>? Answered { get; set; }

    /// <summary>How many requests were answered from a push, statelessly, or not at all.</summary>
    public (long Pushed, long Stateless, long NotFound) Counts => (_pushed, _stateless, _notFound);

    /// <summary>Listens on <paramref name="endpoint"/> (port 80 in production; [::] takes IPv4 too) and returns once bound.</summary>
    public static Task<Http01Responder> StartAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
            socket.Listen(64);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new IOException($"cannot listen on {endpoint} for HTTP-01: {ex.Message}", ex);
        }
        return Task.FromResult(new Http01Responder(socket));
    }

    /// <summary>Answers <paramref name="token"/> with <paramref name="keyAuthorization"/> until removed.</summary>
    public void Put(string token, string keyAuthorization) => _answers[token] = keyAuthorization;

    /// <summary>Stops answering <paramref name="token"/> from memory.</summary>
    public bool Remove(string token) => _answers.TryRemove(token, out _);

    /// <summary>The tokens held now.</summary>
    public IReadOnlyCollection<string> Tokens => [.. _answers.Keys];

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }
                continue;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
        {
            timeout.CancelAfter(RequestTimeout);
            try
            {
                var request = await ReadRequestAsync(client, timeout.Token);
                var (status, body) = request is null ? (400, "") : Answer(request.Value.Method, request.Value.Path, (client.RemoteEndPoint as IPEndPoint)?.Address);
                var reason = status switch { 200 => "OK", 404 => "Not Found", 405 => "Method Not Allowed", _ => "Bad Request" };
                var head = request?.Method == "HEAD";
                var response = Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 {status} {reason}\r\nContent-Type: application/octet-stream\r\nContent-Length: {Encoding.ASCII.GetByteCount(body)}\r\nConnection: close\r\n\r\n{(head ? "" : body)}");
                await client.SendAsync(response, SocketFlags.None, timeout.Token);
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // A client that stalls or hangs up is simply dropped.
            }
        }
    }

    /// <summary>The request line's method and path, once the headers have ended; null for anything else.</summary>
    private static async Task<(string Method, string Path)?> ReadRequestAsync(Socket client, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequest];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                return null;
            }
            length += read;
            if (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0)
            {
                var line = Encoding.ASCII.GetString(buffer, 0, buffer.AsSpan(0, length).IndexOf("\r\n"u8));
                var parts = line.Split(' ');
                return parts.Length == 3 && parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) ? (parts[0], parts[1]) : null;
            }
        }
        return null;
    }

    private (int Status, string Body) Answer(string method, string path, IPAddress? remote)
    {
        if (method is not ("GET" or "HEAD"))
        {
            return (405, "");
        }
        // A proxy-style absolute URI is answered by its path as well.
        if (Uri.TryCreate(path, UriKind.Absolute, out var absolute) && absolute.Scheme is "http")
        {
            path = absolute.AbsolutePath;
        }
        if (!path.StartsWith(PathPrefix, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _notFound);
            return (404, "");
        }
        var token = path[PathPrefix.Length..];
        if (_answers.TryGetValue(token, out var answer))
        {
            Interlocked.Increment(ref _pushed);
            Answered?.Invoke(token, IsProbe(token, answer) ? "preflight probe" : "pushed", remote);
            return (200, answer);
        }
        if (Thumbprint is { } thumbprint && IsToken(token))
        {
            Interlocked.Increment(ref _stateless);
            Answered?.Invoke(token, "stateless", remote);
            return (200, $"{token}.{thumbprint}");
        }
        Interlocked.Increment(ref _notFound);
        return (404, "");
    }

    /// <summary>The answer the controller's preflight pushes to <paramref name="node"/>: it tells which host answered an address.</summary>
    public static string ProbeAnswer(string token, string node) => $"{token}.hawser-probe-{node}";

    private static bool IsProbe(string token, string answer) => answer.StartsWith($"{token}.hawser-probe-", StringComparison.Ordinal);

    /// <summary>True for a well-formed token (section 8.3): base64url, at least 128 bits of entropy (22 characters); never a path.</summary>
    public static bool IsToken(string token) => TokenPattern().IsMatch(token);

    [GeneratedRegex(@"^[A-Za-z0-9_-]{22,128}\z")]
    private static partial Regex TokenPattern();

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        _stop.Dispose();
    }
}
