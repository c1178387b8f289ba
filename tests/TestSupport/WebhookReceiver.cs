using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Hawser.TestSupport;

/// <summary>One request a <see cref="WebhookReceiver"/> took: its path, headers and body.</summary>
public sealed record ReceivedRequest(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    /// <summary>The body as text.</summary>
    public string Text => Encoding.UTF8.GetString(Body);

    /// <summary>The body as JSON.</summary>
    public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();

    /// <summary>A header's value, or null.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    /// <summary>True when the body's HMAC-SHA256 with <paramref name="secret"/> is what <c>X-Hawser-Signature</c> says, checked as a receiver would.</summary>
    public bool SignedWith(string secret) =>
        Header("X-Hawser-Signature") is { } signature && signature.StartsWith("sha256=", StringComparison.Ordinal)
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature[7..]),
            Encoding.ASCII.GetBytes(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Body))));
}

/// <summary>
/// An HTTP endpoint a test starts to receive notifications on a loopback port (a stand-in for a chat service or an
/// incident tool, which are not served here): it records every request and answers 200, and can be taken down (the port
/// refuses connections) and brought back on the same port.
/// </summary>
public sealed class WebhookReceiver : IDisposable
{
    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();
    private HttpListener? _listener;

    private WebhookReceiver(int port) => Port = port;

    /// <summary>The loopback port.</summary>
    public int Port { get; }

    /// <summary>The URL of <paramref name="path"/> on it.</summary>
    public string Url(string path = "hook") => $"http://127.0.0.1:{Port}/{path}";

    /// <summary>Every request taken, in order.</summary>
    public IReadOnlyList<ReceivedRequest> Requests => [.. _requests];

    /// <summary>A receiver on a free port; listening unless <paramref name="up"/> is false.</summary>
    public static WebhookReceiver Start(bool up = true)
    {
        var receiver = new WebhookReceiver(AgentFleet.FreePort());
        if (up)
        {
            receiver.Up();
        }
        return receiver;
    }

    /// <summary>Starts listening (again).</summary>
    public void Up()
    {
        if (_listener is not null)
        {
            return;
        }
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        listener.Start();
        _listener = listener;
        _ = HttpListenerLoop.ServeAsync(listener, (path, headers, body) =>
        {
            _requests.Enqueue(new ReceivedRequest(path, headers, body));
            return 200;
        });
    }

    /// <summary>Stops listening: connections are refused until <see cref="Up"/>.</summary>
    public void Down()
    {
        var listener = _listener;
        _listener = null;
        listener?.Close();
    }

    /// <inheritdoc/>
    public void Dispose() => Down();
}
