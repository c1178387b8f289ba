using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;

namespace Hawser.Shared.Tests.Transport;

/// <summary>Hand-built HTTP/2 requests, to send what a well-behaved gRPC client never would.</summary>
internal static class RawGrpcRequest
{
    public sealed record Reply(HttpStatusCode HttpStatus, int? GrpcStatus, string? GrpcMessage, bool TrailersOnly, byte[] Body, HttpResponseMessage Response);

    public static byte[] Frame(byte[] payload, byte flag = 0, uint? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    public static async Task<Reply> SendAsync(Uri server, string path, byte[] body, string contentType = "application/grpc",
        IEnumerable<KeyValuePair<string, string>>? headers = null, Version? version = null)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, path))
        {
            Version = version ?? HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TE.ParseAdd("trailers");
        foreach (var (key, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(key, value);
        }
        var response = await client.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var inHeaders = response.Headers.TryGetValues("grpc-status", out var hs) ? hs.First() : null;
        var inTrailers = response.TrailingHeaders.TryGetValues("grpc-status", out var ts) ? ts.First() : null;
        var message = response.Headers.TryGetValues("grpc-message", out var hm) ? hm.First()
            : response.TrailingHeaders.TryGetValues("grpc-message", out var tm) ? tm.First() : null;
        var status = inHeaders ?? inTrailers;
        return new Reply(response.StatusCode, status is null ? null : int.Parse(status, System.Globalization.CultureInfo.InvariantCulture),
            message, inHeaders is not null, bytes, response);
    }
}
