using System.Globalization;
using System.Net;
using System.Text;

namespace Hawser.Shared.Rpc;

/// <summary>
/// Header names and value encodings of the gRPC-over-HTTP/2 protocol (grpc/doc/PROTOCOL-HTTP2.md).
/// </summary>
public static class GrpcProtocol
{
    /// <summary>The content type every gRPC request and response carries.</summary>
    public const string ContentType = "application/grpc";
    /// <summary>The explicit protobuf form of <see cref="ContentType"/>.</summary>
    public const string ContentTypeProto = "application/grpc+proto";
    /// <summary>Status code header or trailer.</summary>
    public const string StatusHeader = "grpc-status";
    /// <summary>Percent-encoded status message header or trailer.</summary>
    public const string MessageHeader = "grpc-message";
    /// <summary>Call deadline header.</summary>
    public const string TimeoutHeader = "grpc-timeout";
    /// <summary>Compression of the messages in this direction.</summary>
    public const string EncodingHeader = "grpc-encoding";
    /// <summary>Compressions the sender accepts.</summary>
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    /// <summary>No compression.</summary>
    public const string IdentityEncoding = "identity";
    /// <summary>gzip compression.</summary>
    public const string GzipEncoding = "gzip";
    /// <summary>The value of grpc-accept-encoding this layer sends.</summary>
    public const string SupportedEncodings = "identity,gzip";
    /// <summary>Size of the compressed flag plus the 4-byte big-endian length.</summary>
    public const int MessagePrefixLength = 5;
    /// <summary>Default limit for one message in either direction: 4 MiB, as in other gRPC stacks.</summary>
    public const int DefaultMaxMessageSize = 4 * 1024 * 1024;

    /// <summary>True for <c>application/grpc</c> and <c>application/grpc+proto</c> (parameters ignored).</summary>
    public static bool IsSupportedContentType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }
        var semi = contentType.IndexOf(';', StringComparison.Ordinal);
        var media = (semi >= 0 ? contentType[..semi] : contentType).Trim();
        return media.Equals(ContentType, StringComparison.OrdinalIgnoreCase)
            || media.Equals(ContentTypeProto, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>True when a content type starts with <c>application/grpc</c> (any subtype).</summary>
    public static bool IsGrpcContentType(string? contentType) =>
        contentType is not null && contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase);

    /// <summary>True for the encodings this layer can read and write.</summary>
    public static bool IsSupportedEncoding(string? encoding) =>
        encoding is null or IdentityEncoding or GzipEncoding;

    /// <summary>
    /// Formats a timeout as grpc-timeout (at most 8 digits and a unit), choosing the finest unit that
    /// fits; rounds up so the peer never sees a shorter deadline than ours.
    /// </summary>
    public static string FormatTimeout(TimeSpan timeout)
    {
        const long maxValue = 99_999_999;
        var ticks = Math.Max(timeout.Ticks, 1); // 1 tick = 100 ns
        if (ticks * 100 <= maxValue)
        {
            return (ticks * 100).ToString(CultureInfo.InvariantCulture) + "n";
        }
        ReadOnlySpan<(long TicksPerUnit, char Unit)> units =
        [
            (TimeSpan.TicksPerMicrosecond, 'u'), (TimeSpan.TicksPerMillisecond, 'm'), (TimeSpan.TicksPerSecond, 'S'),
            (TimeSpan.TicksPerMinute, 'M'), (TimeSpan.TicksPerHour, 'H'),
        ];
        foreach (var (perUnit, unit) in units)
        {
            var value = (ticks + perUnit - 1) / perUnit;
            if (value <= maxValue)
            {
                return value.ToString(CultureInfo.InvariantCulture) + unit;
            }
        }
        return maxValue.ToString(CultureInfo.InvariantCulture) + "H";
    }

    /// <summary>Parses a grpc-timeout value; false when it is not 1-8 digits followed by H, M, S, m, u or n.</summary>
    public static bool TryParseTimeout(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (value is null || value.Length < 2 || value.Length > 9)
        {
            return false;
        }
        var digits = value.AsSpan(0, value.Length - 1);
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }
        var amount = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        timeout = value[^1] switch
        {
            'H' => TimeSpan.FromHours(amount),
            'M' => TimeSpan.FromMinutes(amount),
            'S' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMilliseconds(amount),
            'u' => TimeSpan.FromTicks(amount * 10),
            'n' => TimeSpan.FromTicks((amount + 99) / 100),
            _ => TimeSpan.MinValue,
        };
        return timeout != TimeSpan.MinValue;
    }

    /// <summary>Percent-encodes a status message: UTF-8, with bytes outside 0x20-0x7E and '%' escaped.</summary>
    public static string EncodeMessage(string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        var needs = false;
        foreach (var b in bytes)
        {
            if (b is < 0x20 or > 0x7E or (byte)'%')
            {
                needs = true;
                break;
            }
        }
        if (!needs)
        {
            return message;
        }
        var sb = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b is < 0x20 or > 0x7E or (byte)'%')
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append((char)b);
            }
        }
        return sb.ToString();
    }

    /// <summary>Decodes a percent-encoded status message; malformed escapes are kept as they are.</summary>
    public static string DecodeMessage(string? encoded)
    {
        if (string.IsNullOrEmpty(encoded) || !encoded.Contains('%', StringComparison.Ordinal))
        {
            return encoded ?? string.Empty;
        }
        var bytes = new List<byte>(encoded.Length);
        for (var i = 0; i < encoded.Length; i++)
        {
            if (encoded[i] == '%' && i + 2 < encoded.Length
                && byte.TryParse(encoded.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(encoded[i].ToString()));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The status a client reports for a non-gRPC HTTP failure, as the protocol's table maps it.</summary>
    public static StatusCode StatusFromHttp(HttpStatusCode status) => status switch
    {
        HttpStatusCode.BadRequest => StatusCode.Internal,
        HttpStatusCode.Unauthorized => StatusCode.Unauthenticated,
        HttpStatusCode.Forbidden => StatusCode.PermissionDenied,
        HttpStatusCode.NotFound => StatusCode.Unimplemented,
        HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    /// <summary>Parses a grpc-status value; null when absent or not a number.</summary>
    public static StatusCode? ParseStatus(string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? (StatusCode)code : null;
}
