using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Hawser.Shared.Rpc.Server;

/// <summary>Writes a Trailers-Only response: status and trailing metadata in the one HEADERS frame, no body.</summary>
internal static class TrailersOnlyResponse
{
    /// <summary>Sets the response headers; the response ends when the request delegate returns.</summary>
    public static void Write(HttpResponse response, StatusCode code, string detail, Metadata? trailers = null)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.StatusHeader] = FormatStatus(code);
        if (detail.Length > 0)
        {
            response.Headers[GrpcProtocol.MessageHeader] = GrpcProtocol.EncodeMessage(detail);
        }
        if (trailers is not null)
        {
            foreach (var entry in trailers)
            {
                response.Headers.Append(entry.Key, Metadata.ToHeaderValue(entry));
            }
        }
    }

    /// <summary>The grpc-status value for <paramref name="code"/>.</summary>
    public static string FormatStatus(StatusCode code) => ((int)code).ToString(CultureInfo.InvariantCulture);
}
