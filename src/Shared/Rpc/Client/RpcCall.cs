using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Hawser.Shared.Rpc.Client;

/// <summary>
/// One call in flight, of any kind: request messages go out through <see cref="WriteAsync"/>
/// (streaming requests), responses come in through <see cref="ReadAllAsync"/> or
/// <see cref="ResponseAsync"/>. Disposing a call that has not ended cancels it.
/// </summary>
public sealed class RpcCall<TRequest, TResponse> : IDisposable
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly Method<TRequest, TResponse> _method;
    private readonly RpcChannelOptions _options;
    private readonly CallOptions _callOptions;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationTokenSource? _deadlineCts;
    private readonly StreamingRequestContent? _requestContent;
    private readonly Task<HttpResponseMessage> _send;
    private readonly TaskCompletionSource<Metadata> _headers = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HttpResponseMessage? _response;
    private Task<MessageReader<TResponse>?>? _responseTask;
    private Task<TResponse>? _single;
    private bool _ended;

    internal RpcCall(HttpClient client, Uri requestUri, Method<TRequest, TResponse> method, TRequest? request,
        RpcChannelOptions options, CallOptions callOptions)
    {
        _method = method;
        _options = options;
        _callOptions = callOptions;
        if (!GrpcProtocol.IsSupportedEncoding(callOptions.Compression))
        {
            throw new ArgumentException($"unsupported compression '{callOptions.Compression}'", nameof(callOptions));
        }
        _cts = callOptions.CancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(callOptions.CancellationToken)
            : new CancellationTokenSource();
        var message = new HttpRequestMessage(HttpMethod.Post, requestUri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var headers = message.Headers;
        headers.TryAddWithoutValidation("te", "trailers");
        headers.TryAddWithoutValidation("user-agent", options.UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.SupportedEncodings);
        if (callOptions.Compression is GrpcProtocol.GzipEncoding)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, GrpcProtocol.GzipEncoding);
        }
        if (callOptions.Deadline is { } deadline)
        {
            var timeout = deadline - DateTime.UtcNow;
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcProtocol.FormatTimeout(timeout));
            _deadlineCts = new CancellationTokenSource(timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero);
            _deadlineCts.Token.Register(static cts => ((CancellationTokenSource)cts!).Cancel(), _cts);
        }
        if (callOptions.Headers is { } metadata)
        {
            foreach (var entry in metadata)
            {
                headers.TryAddWithoutValidation(entry.Key, Metadata.ToHeaderValue(entry));
            }
        }
        if (request is not null)
        {
            message.Content = new ByteArrayContent(MessageWriter.ToFrame(request, callOptions.Compression, options.MaxSendMessageSize));
        }
        else
        {
            _requestContent = new StreamingRequestContent(_cts.Token);
            message.Content = _requestContent;
        }
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
        _send = client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, _cts.Token);
        if (_requestContent is { } content)
        {
            // A caller may write before it reads: when the request cannot even be sent (no
            // connection), its writes must fail too, not wait for a body stream that never comes.
            _send.ContinueWith(static (send, state) =>
            {
                var reason = send.Exception?.InnerException;
                ((StreamingRequestContent)state!).Abort(new RpcException(
                    reason is OperationCanceledException ? StatusCode.Cancelled : StatusCode.Unavailable,
                    reason?.Message ?? "the request was cancelled", inner: reason));
            }, content, CancellationToken.None, TaskContinuationOptions.NotOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>The status the call ended with; null while it runs.</summary>
    public StatusCode? Status { get; private set; }

    /// <summary>The status message the call ended with.</summary>
    public string StatusDetail { get; private set; } = string.Empty;

    /// <summary>The grpc-encoding of the server's messages (null for identity), known once headers arrived.</summary>
    public string? ResponseEncoding { get; private set; }

    /// <summary>Trailing metadata; filled once the call has ended.</summary>
    public Metadata Trailers { get; } = new();

    /// <summary>The response headers' custom metadata, once the server sends them.</summary>
    public Task<Metadata> ResponseHeadersAsync
    {
        get
        {
            _ = EnsureResponseAsync();
            return _headers.Task;
        }
    }

    /// <summary>The single response of a unary or client-streaming call; throws <see cref="RpcException"/> on a non-OK status.</summary>
    public Task<TResponse> ResponseAsync => _single ??= ReadSingleAsync();

    /// <summary>Sends one request message (client-streaming and bidirectional calls).</summary>
    public async Task WriteAsync(TRequest message)
    {
        var content = _requestContent ?? throw new InvalidOperationException($"{_method.Path} is {_method.Type}: its request was sent at start");
        var frame = MessageWriter.ToFrame(message, _callOptions.Compression, _options.MaxSendMessageSize);
        try
        {
            await content.WriteAsync(frame).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException or ObjectDisposedException)
        {
            // The call is over; report its status rather than the transport's complaint.
            await EnsureEndedAsync(ex).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Ends the request stream (half-close); the server sees end of stream.</summary>
    public Task CompleteRequestAsync()
    {
        (_requestContent ?? throw new InvalidOperationException($"{_method.Path} has no request stream")).Complete();
        return Task.CompletedTask;
    }

    /// <summary>Reads response messages until the server ends the call; throws <see cref="RpcException"/> on a non-OK status.</summary>
    public async IAsyncEnumerable<TResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await ReadNextAsync(cancellationToken).ConfigureAwait(false) is { } message)
        {
            yield return message;
        }
    }

    /// <summary>Reads the next response message, or null once the call ended with OK.</summary>
    public async Task<TResponse?> ReadNextAsync(CancellationToken cancellationToken = default)
    {
        if (_ended)
        {
            // Reading past the end repeats the outcome; it must not read (or add) the trailers again.
            return Status == StatusCode.OK ? null : throw new RpcException(Status!.Value, StatusDetail, Trailers);
        }
        using var registration = cancellationToken.Register(static cts => ((CancellationTokenSource)cts!).Cancel(), _cts);
        try
        {
            var reader = await EnsureResponseAsync().ConfigureAwait(false);
            if (reader is null)
            {
                return null;
            }
            var message = await reader.ReadAsync(_cts.Token).ConfigureAwait(false);
            if (message is null)
            {
                EndFromTrailers();
            }
            return message;
        }
        catch (RpcException ex)
        {
            End(ex.StatusCode, ex.Detail);
            _cts.Cancel();
            throw;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
            throw Fail(ex);
        }
    }

    /// <summary>Cancels the call if it has not ended.</summary>
    public void Dispose()
    {
        if (!_ended)
        {
            _cts.Cancel();
        }
        _requestContent?.Complete();
        _response?.Dispose();
        _deadlineCts?.Dispose();
        _cts.Dispose();
    }

    private async Task<TResponse> ReadSingleAsync()
    {
        var response = await ReadNextAsync().ConfigureAwait(false)
            ?? throw new RpcException(StatusCode.Internal, "The server ended the call with OK but sent no response message");
        if (await ReadNextAsync().ConfigureAwait(false) is not null)
        {
            throw new RpcException(StatusCode.Internal, "The server sent more than one response message for a single-response call");
        }
        return response;
    }

    private Task<MessageReader<TResponse>?> EnsureResponseAsync() => _responseTask ??= ReceiveHeadersAsync();

    private async Task<MessageReader<TResponse>?> ReceiveHeadersAsync()
    {
        try
        {
            _response = await _send.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
            var failure = Fail(ex);
            _headers.TrySetException(failure);
            throw failure;
        }
        var response = _response;
        var headerStatus = GrpcProtocol.ParseStatus(HeaderValue(response.Headers, GrpcProtocol.StatusHeader));
        if (response.StatusCode != HttpStatusCode.OK && headerStatus is null)
        {
            throw HeaderFailure(new RpcException(GrpcProtocol.StatusFromHttp(response.StatusCode),
                $"Bad gRPC response: HTTP status {(int)response.StatusCode} {response.ReasonPhrase}"));
        }
        var contentType = response.Content.Headers.ContentType?.MediaType;
        if (headerStatus is null && !GrpcProtocol.IsGrpcContentType(contentType))
        {
            throw HeaderFailure(new RpcException(StatusCode.Unknown, $"Bad gRPC response: content-type is '{contentType}'"));
        }
        var metadata = ReadMetadata(response.Headers);
        _headers.TrySetResult(metadata);
        if (headerStatus is { } code)
        {
            // Trailers-Only: the status came with the headers and there is no body.
            Trailers.AddRange(metadata);
            var detail = GrpcProtocol.DecodeMessage(HeaderValue(response.Headers, GrpcProtocol.MessageHeader));
            End(code, detail);
            if (code != StatusCode.OK)
            {
                throw new RpcException(code, detail, Trailers);
            }
            return null;
        }
        var encoding = HeaderValue(response.Headers, GrpcProtocol.EncodingHeader);
        if (!GrpcProtocol.IsSupportedEncoding(encoding))
        {
            throw HeaderFailure(new RpcException(StatusCode.Internal, $"The server used unsupported grpc-encoding '{encoding}'"));
        }
        ResponseEncoding = encoding;
        var stream = await response.Content.ReadAsStreamAsync(_cts.Token).ConfigureAwait(false);
        return new MessageReader<TResponse>(PipeReader.Create(stream), _method.ResponseParser, encoding, _options.MaxReceiveMessageSize);
    }

    private RpcException HeaderFailure(RpcException ex)
    {
        _headers.TrySetException(ex);
        return ex;
    }

    private void EndFromTrailers()
    {
        var trailers = _response!.TrailingHeaders;
        var code = GrpcProtocol.ParseStatus(HeaderValue(trailers, GrpcProtocol.StatusHeader));
        Trailers.AddRange(ReadMetadata(trailers));
        if (code is null)
        {
            End(StatusCode.Internal, "The server ended the stream without grpc-status");
            throw new RpcException(StatusCode.Internal, StatusDetail, Trailers);
        }
        var detail = GrpcProtocol.DecodeMessage(HeaderValue(trailers, GrpcProtocol.MessageHeader));
        End(code.Value, detail);
        if (code != StatusCode.OK)
        {
            throw new RpcException(code.Value, detail, Trailers);
        }
    }

    private async Task EnsureEndedAsync(Exception cause)
    {
        if (_ended)
        {
            return;
        }
        try
        {
            // The server may have ended the call (with a status) before we finished writing.
            while (await ReadNextAsync().ConfigureAwait(false) is not null)
            {
            }
        }
        catch (RpcException ex)
        {
            throw new RpcException(ex.StatusCode, ex.Detail, ex.Trailers, cause);
        }
    }

    /// <summary>Ends the call for a transport failure, with the status the failure means.</summary>
    private RpcException Fail(Exception ex)
    {
        const long Http2Cancel = 0x8;
        var (code, detail) = ex switch
        {
            _ when _deadlineCts?.IsCancellationRequested == true => (StatusCode.DeadlineExceeded, "Deadline Exceeded"),
            OperationCanceledException when _cts.IsCancellationRequested => (StatusCode.Cancelled, "Call cancelled by the client"),
            HttpProtocolException { ErrorCode: Http2Cancel } => (StatusCode.Cancelled, "The server cancelled the stream"),
            _ => (StatusCode.Unavailable, $"Connection to the server failed: {ex.Message}"),
        };
        var failure = new RpcException(code, detail, inner: ex);
        End(code, detail);
        _cts.Cancel();
        return failure;
    }

    private void End(StatusCode code, string detail)
    {
        if (_ended)
        {
            return;
        }
        _ended = true;
        Status = code;
        StatusDetail = detail;
        _requestContent?.Abort(new RpcException(code, detail));
    }

    private static string? HeaderValue(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    private static Metadata ReadMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var (name, values) in headers.NonValidated)
        {
            var key = name.ToLowerInvariant();
            if (Metadata.IsReserved(key) || key is "date" or "server")
            {
                continue;
            }
            foreach (var value in values)
            {
                metadata.AddFromHeader(key, value);
            }
        }
        return metadata;
    }
}
