using System.Net;

namespace Hawser.Shared.Rpc.Client;

/// <summary>
/// A request body that stays open while the caller writes messages: HTTP/2 lets the response
/// arrive while this content is still being sent, which is what streaming calls need.
/// </summary>
internal sealed class StreamingRequestContent(CancellationToken callToken) : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    /// <summary>Writes one framed message and flushes it.</summary>
    public async Task WriteAsync(byte[] frame)
    {
        if (_completed.Task.IsCompleted)
        {
            throw _completed.Task.Exception?.InnerException ?? new InvalidOperationException("The request stream is already complete");
        }
        var stream = await _stream.Task.WaitAsync(callToken).ConfigureAwait(false);
        await _writeLock.WaitAsync(callToken).ConfigureAwait(false);
        try
        {
            await stream.WriteAsync(frame, callToken).ConfigureAwait(false);
            await stream.FlushAsync(callToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Ends the request stream normally.</summary>
    public void Complete() => _completed.TrySetResult();

    /// <summary>Ends the request stream because the call is over.</summary>
    public void Abort(Exception reason)
    {
        _completed.TrySetException(reason);
        _stream.TrySetException(reason);
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        await SerializeToStreamAsync(stream, context, CancellationToken.None).ConfigureAwait(false);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _stream.TrySetResult(stream);
        try
        {
            await _completed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // The call ended (e.g. the server answered early): just stop sending.
        }
        // Wait for a write still in flight before the handler ends the stream.
        await _writeLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        _writeLock.Release();
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _writeLock.Dispose();
        }
        base.Dispose(disposing);
    }
}
