using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Hawser.Shared.Rpc;

/// <summary>Reads 5-byte length-prefixed gRPC messages from a pipe.</summary>
/// <remarks>Every malformed input ends in an <see cref="RpcException"/>, never another exception type.</remarks>
internal sealed class MessageReader<T>(PipeReader reader, MessageParser<T> parser, string? encoding, int maxMessageSize)
    where T : IMessage<T>
{
    /// <summary>Reads the next message, or returns null at a clean end of stream.</summary>
    public async ValueTask<T?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (TryReadFrame(ref buffer, out var message))
            {
                reader.AdvanceTo(buffer.Start);
                return message;
            }
            if (result.IsCompleted || result.IsCanceled)
            {
                var leftover = buffer.Length;
                reader.AdvanceTo(buffer.End);
                if (leftover == 0 && result.IsCompleted)
                {
                    return default;
                }
                throw new RpcException(StatusCode.Internal,
                    $"Incomplete message: the stream ended with {leftover} bytes of a partial frame");
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out T? message)
    {
        message = default;
        if (buffer.Length < GrpcProtocol.MessagePrefixLength)
        {
            return false;
        }
        Span<byte> prefix = stackalloc byte[GrpcProtocol.MessagePrefixLength];
        buffer.Slice(0, GrpcProtocol.MessagePrefixLength).CopyTo(prefix);
        var flag = prefix[0];
        var length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
        if (flag > 1)
        {
            throw new RpcException(StatusCode.Internal, $"Malformed frame: compressed flag is {flag}, must be 0 or 1");
        }
        if (length > (uint)maxMessageSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted,
                $"Received message larger than max ({length} vs. {maxMessageSize})");
        }
        if (buffer.Length < GrpcProtocol.MessagePrefixLength + length)
        {
            return false;
        }
        var payload = buffer.Slice(GrpcProtocol.MessagePrefixLength, length);
        if (flag == 1)
        {
            if (encoding is null or GrpcProtocol.IdentityEncoding)
            {
                throw new RpcException(StatusCode.Internal,
                    "Malformed frame: compressed flag set but the stream declared no grpc-encoding");
            }
            payload = new ReadOnlySequence<byte>(Decompress(payload, maxMessageSize));
        }
        try
        {
            message = parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(StatusCode.Internal, $"Failed to deserialize message: {ex.Message}", inner: ex);
        }
        buffer = buffer.Slice(GrpcProtocol.MessagePrefixLength + length);
        return true;
    }

    private static byte[] Decompress(ReadOnlySequence<byte> payload, int maxMessageSize)
    {
        try
        {
            using var gzip = new GZipStream(new MemoryStream(payload.ToArray()), CompressionMode.Decompress);
            using var output = new MemoryStream();
            var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                int read;
                while ((read = gzip.Read(chunk, 0, chunk.Length)) > 0)
                {
                    // Check while inflating, so a small gzip bomb cannot allocate past the limit.
                    if (output.Length + read > maxMessageSize)
                    {
                        throw new RpcException(StatusCode.ResourceExhausted,
                            $"Received message larger than max after decompression (limit {maxMessageSize})");
                    }
                    output.Write(chunk, 0, read);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
            return output.ToArray();
        }
        catch (InvalidDataException ex)
        {
            throw new RpcException(StatusCode.Internal, $"Malformed frame: gzip data is invalid: {ex.Message}", inner: ex);
        }
    }
}

/// <summary>Writes 5-byte length-prefixed gRPC messages.</summary>
internal static class MessageWriter
{
    /// <summary>Frames <paramref name="message"/> into <paramref name="output"/>, gzip-compressed when <paramref name="encoding"/> says so.</summary>
    public static void Write(IBufferWriter<byte> output, IMessage message, string? encoding, int maxMessageSize)
    {
        var size = message.CalculateSize();
        if (size > maxMessageSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted,
                $"Sending message larger than max ({size} vs. {maxMessageSize})");
        }
        if (encoding == GrpcProtocol.GzipEncoding)
        {
            WriteCompressed(output, message);
            return;
        }
        var span = output.GetSpan(GrpcProtocol.MessagePrefixLength + size);
        span[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
        message.WriteTo(span.Slice(GrpcProtocol.MessagePrefixLength, size));
        output.Advance(GrpcProtocol.MessagePrefixLength + size);
    }

    /// <summary>Frames one message into a new array.</summary>
    public static byte[] ToFrame(IMessage message, string? encoding, int maxMessageSize)
    {
        var buffer = new ArrayBufferWriter<byte>(GrpcProtocol.MessagePrefixLength + 64);
        Write(buffer, message, encoding, maxMessageSize);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteCompressed(IBufferWriter<byte> output, IMessage message)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            message.WriteTo(gzip);
        }
        var length = (int)compressed.Length;
        var span = output.GetSpan(GrpcProtocol.MessagePrefixLength + length);
        span[0] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
        compressed.GetBuffer().AsSpan(0, length).CopyTo(span[GrpcProtocol.MessagePrefixLength..]);
        output.Advance(GrpcProtocol.MessagePrefixLength + length);
    }
}
