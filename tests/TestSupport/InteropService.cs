using Google.Protobuf;
using Hawser.Shared.Rpc;
using Hawser.Shared.Rpc.Server;
using Hawser.Tests.Interop;

namespace Hawser.TestSupport;

/// <summary>Method descriptors of the test-only interop service, taken from its .proto.</summary>
public static class InteropMethods
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = InteropReflection.Descriptor.Services[0];

    /// <summary>Unary echo.</summary>
    public static readonly Method<EchoRequest, EchoReply> Echo = Method.FromDescriptor<EchoRequest, EchoReply>(Service, "Echo");
    /// <summary>Client-streaming sum.</summary>
    public static readonly Method<Number, Total> Sum = Method.FromDescriptor<Number, Total>(Service, "Sum");
    /// <summary>Server-streaming countdown.</summary>
    public static readonly Method<CountdownRequest, Count> Countdown = Method.FromDescriptor<CountdownRequest, Count>(Service, "Countdown");
    /// <summary>Bidirectional chat.</summary>
    public static readonly Method<ChatMessage, ChatMessage> Chat = Method.FromDescriptor<ChatMessage, ChatMessage>(Service, "Chat");
}

/// <summary>
/// The interop service on Hawser's own server, with the same behaviour as tests/interop/server.js,
/// and a record of what it saw (cancellations, compression) for tests to assert on.
/// </summary>
public sealed class InteropService
{
    private int _cancelledCalls;

    /// <summary>Calls that ended because the client cancelled or the deadline passed.</summary>
    public int CancelledCalls => Volatile.Read(ref _cancelledCalls);

    /// <summary>Raised when a call observed its cancellation.</summary>
    public event Action? CallCancelled;

    /// <summary>Maps every interop method onto <paramref name="server"/>.</summary>
    public RpcServer MapTo(RpcServer server) => server
        .MapUnary(InteropMethods.Echo, EchoAsync)
        .MapClientStreaming(InteropMethods.Sum, SumAsync)
        .MapServerStreaming(InteropMethods.Countdown, CountdownAsync)
        .MapDuplexStreaming(InteropMethods.Chat, ChatAsync);

    private async Task<EchoReply> EchoAsync(EchoRequest request, ServerCallContext context)
    {
        var headers = new Metadata();
        foreach (var entry in context.RequestHeaders.Where(e => e.Key.StartsWith("x-", StringComparison.Ordinal)))
        {
            if (entry.IsBinary)
            {
                headers.Add(entry.Key, entry.ValueBytes!);
                context.ResponseTrailers.Add(entry.Key[..^4] + "-trailer-bin", entry.ValueBytes!);
            }
            else
            {
                headers.Add(entry.Key, entry.Value!);
                context.ResponseTrailers.Add(entry.Key + "-trailer", entry.Value!);
            }
        }
        if (headers.Count > 0)
        {
            await context.WriteResponseHeadersAsync(headers);
        }
        if (request.DelayMs > 0)
        {
            await ObserveCancellation(Task.Delay(TimeSpan.FromMilliseconds(request.DelayMs), context.CancellationToken));
        }
        if (request.FailCode != 0)
        {
            throw new RpcException((StatusCode)request.FailCode, request.FailMessage);
        }
        var reply = new EchoReply
        {
            Message = request.Message,
            Payload = request.Payload,
            Padding = ByteString.CopyFrom(new byte[request.ReplyPadding]),
            PeerCompression = context.HttpContext.Request.Headers[GrpcProtocol.EncodingHeader].ToString(),
        };
        foreach (var entry in context.RequestHeaders.Where(e => !e.IsBinary))
        {
            reply.Metadata[entry.Key] = entry.Value;
        }
        if (reply.PeerCompression == GrpcProtocol.GzipEncoding)
        {
            context.ResponseCompression = GrpcProtocol.GzipEncoding;
        }
        return reply;
    }

    private static async Task<Total> SumAsync(IAsyncEnumerable<Number> numbers, ServerCallContext context)
    {
        var total = new Total();
        await foreach (var number in numbers)
        {
            total.Sum += number.Value;
            total.Count++;
        }
        return total;
    }

    private async Task CountdownAsync(CountdownRequest request, IServerStreamWriter<Count> responses, ServerCallContext context)
    {
        var sent = 0;
        for (var value = request.From; value > 0; value--)
        {
            if (request.FailAfter > 0 && sent == request.FailAfter)
            {
                throw new RpcException(StatusCode.Aborted, "countdown aborted as asked");
            }
            await responses.WriteAsync(new Count { Value = value });
            sent++;
            if (request.DelayMs > 0)
            {
                await ObserveCancellation(Task.Delay(TimeSpan.FromMilliseconds(request.DelayMs), context.CancellationToken));
            }
        }
    }

    private static async Task ChatAsync(IAsyncEnumerable<ChatMessage> messages, IServerStreamWriter<ChatMessage> responses, ServerCallContext context)
    {
        await foreach (var message in messages)
        {
            await responses.WriteAsync(new ChatMessage { Text = "echo: " + message.Text, Seq = message.Seq });
        }
    }

    private async Task ObserveCancellation(Task wait)
    {
        try
        {
            await wait;
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _cancelledCalls);
            CallCancelled?.Invoke();
            throw;
        }
    }
}
