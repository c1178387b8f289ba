using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hawser.Agent.Docker;

/// <summary>What <c>GET /version</c> says about the daemon.</summary>
public sealed record DockerVersion(string Version, string ApiVersion)
{
    /// <summary>The engine's major version (20 for 20.10.24).</summary>
    public int Major => int.TryParse(Version.Split('.')[0], out var major) ? major : 0;
}

/// <summary>The daemon's socket is missing or nothing answers on it.</summary>
public sealed class DockerUnavailableException(string message, Exception inner) : IOException(message, inner);

/// <summary>The Docker Engine API error body, with the endpoint that gave it.</summary>
public sealed class DockerApiException(HttpStatusCode status, string endpoint, string message)
    : Exception($"Docker Engine API {endpoint}: {(int)status} {message}")
{
    /// <summary>The HTTP status.</summary>
    public HttpStatusCode Status { get; } = status;
}

/// <summary>
/// The few Engine API endpoints the agent uses, over the daemon's unix socket. The API version is
/// negotiated from <c>/version</c> so requests never ask a new daemon for an old behaviour or the reverse.
/// </summary>
public sealed class DockerEngineClient : IDisposable
{
    private readonly HttpClient _http;
    private string? _versionPrefix;
    private DockerVersion? _version;

    /// <summary>A client for the daemon listening on <paramref name="socketPath"/>.</summary>
    public DockerEngineClient(string socketPath, TimeSpan? timeout = null)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://docker/"), Timeout = timeout ?? TimeSpan.FromSeconds(60) };
    }

    /// <summary>The daemon's socket.</summary>
    public string SocketPath { get; }

    /// <summary>True when <c>/_ping</c> answers OK.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync("_ping", cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Waits until <c>/_ping</c> answers or <paramref name="timeout"/> passes.</summary>
    public async Task<bool> WaitForPingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await PingAsync(cancellationToken))
            {
                // A restarted daemon may be another version.
                _versionPrefix = null;
                _version = null;
                return true;
            }
            await Task.Delay(200, cancellationToken);
        }
        return false;
    }

    /// <summary>
    /// The daemon's version, known until the next restart. Read from <c>/_ping</c>'s Api-Version and
    /// Server headers, as <c>GET /version</c> costs the daemon several milliseconds (it asks containerd
    /// and runc); that is the fallback when the headers are missing.
    /// </summary>
    public async Task<DockerVersion> VersionAsync(CancellationToken cancellationToken)
    {
        if (_version is not null)
        {
            return _version;
        }
        using (var ping = await Transport(() => _http.GetAsync("_ping", cancellationToken)))
        {
            var api = ping.Headers.TryGetValues("Api-Version", out var apiValues) ? apiValues.FirstOrDefault() : null;
            var server = ping.Headers.Server.Select(p => p.Product).FirstOrDefault(p => p?.Name == "Docker")?.Version;
            if (ping.IsSuccessStatusCode && api is not null && server is not null)
            {
                return _version = new DockerVersion(server, api);
            }
        }
        var body = await SendAsync(HttpMethod.Get, "version", null, cancellationToken, versioned: false);
        return _version = new DockerVersion(body?["Version"]?.GetValue<string>() ?? "0", body?["ApiVersion"]?.GetValue<string>() ?? "1.41");
    }

    /// <summary>A network by name or id; null when it does not exist.</summary>
    public Task<JsonNode?> InspectNetworkAsync(string name, CancellationToken cancellationToken) =>
        GetOrNullAsync($"networks/{Uri.EscapeDataString(name)}", cancellationToken);

    /// <summary>A container by name or id; null when it does not exist.</summary>
    public Task<JsonNode?> InspectContainerAsync(string name, CancellationToken cancellationToken) =>
        GetOrNullAsync($"containers/{Uri.EscapeDataString(name)}/json", cancellationToken);

    /// <summary><c>POST /networks/create</c>.</summary>
    public Task CreateNetworkAsync(JsonObject body, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, "networks/create", body, cancellationToken);

    /// <summary><c>DELETE /networks/{name}</c>.</summary>
    public Task RemoveNetworkAsync(string name, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"networks/{Uri.EscapeDataString(name)}", null, cancellationToken);

    /// <summary>Sends a signal to a container (<c>POST /containers/{id}/kill?signal=</c>).</summary>
    public Task SignalContainerAsync(string container, string signal, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"containers/{Uri.EscapeDataString(container)}/kill?signal={Uri.EscapeDataString(signal)}", null, cancellationToken);

    /// <summary>Runs <paramref name="command"/> in a container and returns its exit code and output.</summary>
    public async Task<(int ExitCode, string Output)> ExecAsync(string container, IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        var create = new JsonObject
        {
            ["AttachStdout"] = true,
            ["AttachStderr"] = true,
            ["Cmd"] = new JsonArray([.. command.Select(c => (JsonNode?)JsonValue.Create(c))]),
        };
        var created = await SendAsync(HttpMethod.Post, $"containers/{Uri.EscapeDataString(container)}/exec", create, cancellationToken);
        var id = created?["Id"]?.GetValue<string>() ?? throw new DockerApiException(HttpStatusCode.OK, $"POST /containers/{container}/exec", "the daemon returned no exec id");
        using var request = new HttpRequestMessage(HttpMethod.Post, await PathAsync($"exec/{id}/start", cancellationToken))
        {
            Content = Json(new JsonObject { ["Detach"] = false, ["Tty"] = false }),
        };
        using var response = await _http.SendAsync(request, cancellationToken);
        var raw = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var inspect = await SendAsync(HttpMethod.Get, $"exec/{id}/json", null, cancellationToken);
        return (inspect?["ExitCode"]?.GetValue<int>() ?? -1, Demultiplex(raw));
    }

    // JsonNode writes itself; JsonContent.Create would reach for reflection-based serialization, which trimming removes.
    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");

    /// <summary>Any versioned request; returns the JSON body (null when empty) or throws <see cref="DockerApiException"/>.</summary>
    public async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken, bool versioned = true)
    {
        var endpoint = versioned ? await PathAsync(path, cancellationToken) : path;
        using var request = new HttpRequestMessage(method, endpoint);
        if (body is not null)
        {
            request.Content = Json(body);
        }
        using var response = await Transport(() => _http.SendAsync(request, cancellationToken));
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            string message;
            try
            {
                message = JsonNode.Parse(text)?["message"]?.GetValue<string>() ?? text;
            }
            catch (JsonException)
            {
                message = text;
            }
            throw new DockerApiException(response.StatusCode, $"{method} /{path}", message.Trim());
        }
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    /// <summary>Turns a failed connection into a reason an operator can act on.</summary>
    private async Task<HttpResponseMessage> Transport(Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            return await send();
        }
        catch (HttpRequestException ex)
        {
            var reason = File.Exists(SocketPath) ? $"nothing answers on it ({ex.InnerException?.Message ?? ex.Message})" : "the socket does not exist";
            throw new DockerUnavailableException($"the Docker daemon is not reachable at {SocketPath}: {reason}; is dockerd running, and is dockerSocket in the agent's config right?", ex);
        }
    }

    private async Task<JsonNode?> GetOrNullAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await SendAsync(HttpMethod.Get, path, null, cancellationToken);
        }
        catch (DockerApiException ex) when (ex.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task<string> PathAsync(string path, CancellationToken cancellationToken)
    {
        _versionPrefix ??= $"v{(await VersionAsync(cancellationToken)).ApiVersion}/";
        return _versionPrefix + path;
    }

    /// <summary>Exec output without a TTY is multiplexed in 8-byte-headed frames.</summary>
    private static string Demultiplex(byte[] raw)
    {
        var text = new System.Text.StringBuilder();
        var offset = 0;
        while (offset + 8 <= raw.Length)
        {
            var length = (raw[offset + 4] << 24) | (raw[offset + 5] << 16) | (raw[offset + 6] << 8) | raw[offset + 7];
            offset += 8;
            var take = Math.Min(length, raw.Length - offset);
            text.Append(System.Text.Encoding.UTF8.GetString(raw, offset, take));
            offset += take;
        }
        return text.ToString();
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();
}
