using System.Threading.Channels;
using Grpc.Core;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Sessions;

/// <summary>
/// One agent stream's outgoing messages. A push, a request or a resend only queues its message; one writer per stream
/// drains the queue in order. The queue is bounded in bytes: an agent that stops taking what is sent (a frozen host,
/// its HTTP/2 window shut) fills only its own queue and is then closed, so it never holds up a push to anyone else.
/// </summary>
internal sealed class SessionOutbox(long maxBytes)
{
    private readonly Channel<(ControllerMessage Message, int Size)> _queue =
        Channel.CreateUnbounded<(ControllerMessage, int)>(new UnboundedChannelOptions { SingleReader = true });

    private long _bytes;
    private int _messages;

    /// <summary>What was waiting when a message would have passed the bound (the stream is then closed); null until then.</summary>
    public (int Messages, long Bytes)? Overflow { get; private set; }

    /// <summary>Queues <paramref name="message"/>; false when the queue is closed or would pass its bound (then it is closed).</summary>
    public bool TryQueue(ControllerMessage message)
    {
        var size = message.CalculateSize();
        var after = Interlocked.Add(ref _bytes, size);
        // One message larger than the bound still goes to an agent that has taken everything before it.
        if (after > maxBytes && after != size)
        {
            Interlocked.Add(ref _bytes, -size);
            Overflow ??= (Volatile.Read(ref _messages), after - size);
            _queue.Writer.TryComplete();
            return false;
        }
        Interlocked.Increment(ref _messages);
        if (_queue.Writer.TryWrite((message, size)))
        {
            return true;
        }
        Interlocked.Add(ref _bytes, -size);
        Interlocked.Decrement(ref _messages);
        return false;
    }

    /// <summary>Writes queued messages to <paramref name="writer"/> in order until the queue is closed or <paramref name="cancellationToken"/> fires.</summary>
    public async Task DrainAsync(IServerStreamWriter<ControllerMessage> writer, CancellationToken cancellationToken)
    {
        await foreach (var (message, size) in _queue.Reader.ReadAllAsync(cancellationToken))
        {
            await writer.WriteAsync(message, cancellationToken);
            Interlocked.Add(ref _bytes, -size);
            Interlocked.Decrement(ref _messages);
        }
    }

    /// <summary>Takes no more messages.</summary>
    public void Close() => _queue.Writer.TryComplete();
}
