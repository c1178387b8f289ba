using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Hawser.Tests.Interop;

namespace Hawser.TestSupport;

/// <summary>
/// The interop service on Hawser's own server (Grpc.AspNetCore), with the same behaviour as
/// tests/interop/server.js, and a record of what it saw (cancellations) for tests to assert on.
/// Beyond the shared contract it can crash with a plain exception in each handler kind (Echo with
/// fail_code -1, Sum given long.MinValue, Countdown with a negative fail_after, Chat given "crash").
/// </summary>
public sealed class InteropService : Interop.InteropBase
{
    private int _cancelledCalls;

    /// <summary>Calls that ended because the client cancelled or the deadline passed.</summary>
    public int CancelledCalls => Volatile.Read(ref _cancelledCalls);

    /// <summary>Raised when a call observed its cancellation.</summary>
    public event Action? CallCancelled;

    /// <inheritdoc/>
    public override async Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)
    {
        var headers = new Metadata();
        foreach (var entry in context.RequestHeaders.Where(e => e.Key.StartsWith("x-", StringComparison.Ordinal)))
        {
            if (entry.IsBinary)
            {
                headers.Add(entry.Key, entry.ValueBytes);
                context.ResponseTrailers.Add(entry.Key[..^4] + "-trailer-bin", entry.ValueBytes);
            }
            else
            {
                headers.Add(entry.Key, entry.Value);
                context.ResponseTrailers.Add(entry.Key + "-trailer", entry.Value);
            }
        }
        // grpc-dotnet keeps grpc-* headers out of RequestHeaders; the request itself still has them.
        var compression = context.GetHttpContext().Request.Headers["grpc-encoding"].ToString();
        if (compression == "gzip")
        {
            // A compressed request gets a compressed reply (grpc-dotnet's per-call switch).
            headers.Add("grpc-internal-encoding-request", "gzip");
        }
        if (headers.Count > 0)
        {
            await context.WriteResponseHeadersAsync(headers);
        }
        if (request.DelayMs > 0)
        {
            await ObserveCancellation(Task.Delay(TimeSpan.FromMilliseconds(request.DelayMs), context.CancellationToken));
        }
        if (request.FailCode == -1)
        {
            throw new InvalidOperationException("echo crashed as asked");
        }
        if (request.FailCode != 0)
        {
            throw new RpcException(new Status((StatusCode)request.FailCode, request.FailMessage));
        }
        var reply = new EchoReply
        {
            Message = request.Message,
            Payload = request.Payload,
            Padding = ByteString.CopyFrom(new byte[request.ReplyPadding]),
            PeerCompression = compression,
        };
        foreach (var entry in context.RequestHeaders.Where(e => !e.IsBinary && !e.Key.StartsWith("grpc-", StringComparison.Ordinal)
            && e.Key is not ("user-agent" or "te" or "content-type")))
        {
            reply.Metadata[entry.Key] = entry.Value;
        }
        return reply;
    }

    /// <inheritdoc/>
    public override async Task<Total> Sum(IAsyncStreamReader<Number> requestStream, ServerCallContext context)
    {
        var total = new Total();
        await foreach (var number in requestStream.ReadAllAsync(context.CancellationToken))
        {
            if (number.Value == long.MinValue)
            {
                throw new InvalidOperationException("sum crashed as asked");
            }
            total.Sum += number.Value;
            total.Count++;
        }
        return total;
    }

    /// <inheritdoc/>
    public override async Task Countdown(CountdownRequest request, IServerStreamWriter<Count> responseStream, ServerCallContext context)
    {
        var sent = 0;
        for (var value = request.From; value > 0; value--)
        {
            if (request.FailAfter < 0 && sent == -request.FailAfter)
            {
                throw new InvalidOperationException("countdown crashed as asked");
            }
            if (request.FailAfter > 0 && sent == request.FailAfter)
            {
                throw new RpcException(new Status(StatusCode.Aborted, "countdown aborted as asked"));
            }
            await responseStream.WriteAsync(new Count { Value = value }, context.CancellationToken);
            sent++;
            if (request.DelayMs > 0)
            {
                await ObserveCancellation(Task.Delay(TimeSpan.FromMilliseconds(request.DelayMs), context.CancellationToken));
            }
        }
    }

    /// <inheritdoc/>
    public override async Task Chat(IAsyncStreamReader<ChatMessage> requestStream, IServerStreamWriter<ChatMessage> responseStream, ServerCallContext context)
    {
        await foreach (var message in requestStream.ReadAllAsync(context.CancellationToken))
        {
            if (message.Text == "crash")
            {
                throw new InvalidOperationException("chat crashed as asked");
            }
            await responseStream.WriteAsync(new ChatMessage { Text = "echo: " + message.Text, Seq = message.Seq }, context.CancellationToken);
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
