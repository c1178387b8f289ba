using System.Net;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Hawser.Shared.Rpc.Server;

/// <summary>
/// One call on the server: validates the request headers, runs the handler under the call's
/// deadline, and ends the HTTP/2 stream with the status in trailers (or Trailers-Only).
/// </summary>
/// <remarks>
/// Every write to the response goes through one lock, because the deadline timer may end the call
/// while the handler is still writing.
/// </remarks>
internal sealed class ServerCall<TRequest, TResponse> : ServerCallContext, IServerStreamWriter<TResponse>, IDisposable
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly HttpContext _http;
    private readonly Method<TRequest, TResponse> _method;
    private readonly RpcServerOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private CancellationTokenSource? _deadlineCts;
    private CancellationTokenSource? _callCts;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private string? _requestEncoding;
    private string? _responseEncoding;
    private string? _responseCompression;
    private bool _headersSent;
    private bool _completed;
    private DateTime _deadline = DateTime.MaxValue;

    public ServerCall(HttpContext http, Method<TRequest, TResponse> method, RpcServerOptions options, ILogger logger)
    {
        _http = http;
        _method = method;
        _options = options;
        _logger = logger;
        _responseCompression = options.ResponseCompression;
    }

    public override string Method => _method.Path;

    public override string Peer => _http.Connection.RemoteIpAddress switch
    {
        null => "unknown",
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } ip => $"ipv6:[{ip}]:{_http.Connection.RemotePort}",
        var ip => $"ipv4:{ip}:{_http.Connection.RemotePort}",
    };

    public override DateTime Deadline => _deadline;

    public override Metadata RequestHeaders => _requestHeaders ??= ReadRequestMetadata();

    public override CancellationToken CancellationToken => _callCts?.Token ?? _http.RequestAborted;

    public override Metadata ResponseTrailers => _responseTrailers ??= new Metadata();

    public override string? ResponseCompression
    {
        get => _responseCompression;
        set
        {
            if (!GrpcProtocol.IsSupportedEncoding(value))
            {
                throw new ArgumentException($"unsupported compression '{value}'", nameof(value));
            }
            _responseCompression = value;
        }
    }

    public override HttpContext HttpContext => _http;

    /// <summary>Runs the call to its end; never throws for anything the client sent.</summary>
    public async Task RunAsync(Func<ServerCall<TRequest, TResponse>, Task> invoke)
    {
        if (!TryAcceptRequest())
        {
            return;
        }
        try
        {
            await invoke(this).ConfigureAwait(false);
            await FinishAsync(StatusCode.OK, string.Empty).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            await FinishAsync(ex.StatusCode, ex.Detail, ex.Trailers).ConfigureAwait(false);
        }
        catch (Exception ex) when (_http.RequestAborted.IsCancellationRequested)
        {
            // The client reset the stream or went away: there is no one to send a status to.
            RpcLog.ClientGone(_logger, ex, _method.Path);
        }
        catch (OperationCanceledException) when (_deadlineCts?.IsCancellationRequested == true)
        {
            await FinishAsync(StatusCode.DeadlineExceeded, "Deadline Exceeded").ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            RpcLog.HandlerFailed(_logger, ex, _method.Path);
            await FinishAsync(StatusCode.Unknown, "Exception was thrown by handler.").ConfigureAwait(false);
        }
    }

    /// <summary>Reads the single request message of a unary or server-streaming call.</summary>
    public async Task<TRequest> ReadSingleRequestAsync()
    {
        var reader = CreateReader();
        var request = await reader.ReadAsync(CancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(StatusCode.Internal, "Request stream ended without a message");
        if (await reader.ReadAsync(CancellationToken).ConfigureAwait(false) is not null)
        {
            throw new RpcException(StatusCode.Internal, "Additional message after the single request message");
        }
        return request;
    }

    /// <summary>The request stream of a client-streaming or bidirectional call.</summary>
    public async IAsyncEnumerable<TRequest> ReadAllRequestsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var reader = CreateReader();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken, cancellationToken);
        while (await reader.ReadAsync(linked.Token).ConfigureAwait(false) is { } message)
        {
            yield return message;
        }
    }

    /// <summary>Writes the one response of a unary or client-streaming call; the end of the call flushes it.</summary>
    public Task WriteUnaryResponseAsync(TResponse response) => WriteCoreAsync(response, flush: false, CancellationToken);

    public Task WriteAsync(TResponse message, CancellationToken cancellationToken = default) =>
        WriteCoreAsync(message, flush: true, cancellationToken);

    public override async Task WriteResponseHeadersAsync(Metadata headers)
    {
        await _writeLock.WaitAsync(CancellationToken).ConfigureAwait(false);
        try
        {
            if (_headersSent || _completed)
            {
                throw new InvalidOperationException("Response headers were already sent");
            }
            foreach (var entry in headers)
            {
                _http.Response.Headers.Append(entry.Key, Metadata.ToHeaderValue(entry));
            }
            _headersSent = true;
            await _http.Response.BodyWriter.FlushAsync(CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void Dispose()
    {
        _deadlineCts?.Dispose();
        _callCts?.Dispose();
        _writeLock.Dispose();
    }

    private bool TryAcceptRequest()
    {
        var request = _http.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            RespondHttpError(StatusCodes.Status405MethodNotAllowed, StatusCode.Internal, "gRPC requires POST");
            return false;
        }
        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            RespondHttpError(StatusCodes.Status426UpgradeRequired, StatusCode.Internal,
                $"gRPC requires HTTP/2, the request used {request.Protocol}");
            return false;
        }
        if (!GrpcProtocol.IsSupportedContentType(request.ContentType))
        {
            RespondHttpError(StatusCodes.Status415UnsupportedMediaType, StatusCode.Internal,
                $"Content-Type '{request.ContentType}' is not supported; use application/grpc or application/grpc+proto");
            return false;
        }
        _requestEncoding = request.Headers[GrpcProtocol.EncodingHeader].ToString() is { Length: > 0 } enc ? enc : null;
        if (!GrpcProtocol.IsSupportedEncoding(_requestEncoding))
        {
            _http.Response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.SupportedEncodings;
            RespondTrailersOnly(StatusCode.Unimplemented,
                $"grpc-encoding '{_requestEncoding}' is not supported; this server accepts {GrpcProtocol.SupportedEncodings}");
            return false;
        }
        var timeoutHeader = request.Headers[GrpcProtocol.TimeoutHeader];
        if (!StringValues.IsNullOrEmpty(timeoutHeader))
        {
            if (!GrpcProtocol.TryParseTimeout(timeoutHeader.ToString(), out var timeout))
            {
                RespondTrailersOnly(StatusCode.Internal, $"Malformed grpc-timeout '{timeoutHeader}'");
                return false;
            }
            _deadline = DateTime.UtcNow + timeout;
            _deadlineCts = new CancellationTokenSource(timeout);
            _deadlineCts.Token.Register(static state => _ = ((ServerCall<TRequest, TResponse>)state!).OnDeadlineAsync(), this);
            _callCts = CancellationTokenSource.CreateLinkedTokenSource(_http.RequestAborted, _deadlineCts.Token);
        }
        if (_method.Type is MethodType.ClientStreaming or MethodType.DuplexStreaming)
        {
            // Long-lived streams (the agent's Connect) may be idle for hours and exceed any body size.
            if (_http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = null;
            }
            _http.Features.Get<IHttpMinRequestBodyDataRateFeature>()?.MinDataRate = null;
        }
        if (_method.Type is MethodType.ServerStreaming or MethodType.DuplexStreaming)
        {
            _http.Features.Get<IHttpMinResponseDataRateFeature>()?.MinDataRate = null;
        }
        var response = _http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.SupportedEncodings;
        return true;
    }

    private MessageReader<TRequest> CreateReader() =>
        new(_http.Request.BodyReader, _method.RequestParser, _requestEncoding, _options.MaxReceiveMessageSize);

    private async Task WriteCoreAsync(TResponse message, bool flush, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_completed)
            {
                throw new RpcException(
                    _deadlineCts?.IsCancellationRequested == true ? StatusCode.DeadlineExceeded : StatusCode.Cancelled,
                    "The call has already ended");
            }
            if (!_headersSent)
            {
                _responseEncoding = ChooseResponseEncoding();
                if (_responseEncoding is not null)
                {
                    _http.Response.Headers[GrpcProtocol.EncodingHeader] = _responseEncoding;
                }
                _headersSent = true;
            }
            MessageWriter.Write(_http.Response.BodyWriter, message, _responseEncoding, _options.MaxSendMessageSize);
            if (flush)
            {
                await _http.Response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private string? ChooseResponseEncoding()
    {
        if (_responseCompression is null or GrpcProtocol.IdentityEncoding)
        {
            return null;
        }
        var accepted = _http.Request.Headers[GrpcProtocol.AcceptEncodingHeader].ToString();
        return accepted.Split(',', StringSplitOptions.TrimEntries).Contains(_responseCompression) ? _responseCompression : null;
    }

    private async Task OnDeadlineAsync()
    {
        try
        {
            if (await FinishAsync(StatusCode.DeadlineExceeded, "Deadline Exceeded").ConfigureAwait(false))
            {
                // End the stream now; the handler sees its token cancelled and its later writes fail.
                await _http.Response.CompleteAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or IOException or OperationCanceledException)
        {
            RpcLog.DeadlineNotSent(_logger, ex, _method.Path);
        }
    }

    /// <summary>Sends the status once; returns false when the call had already ended.</summary>
    private async Task<bool> FinishAsync(StatusCode code, string detail, Metadata? trailers = null)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_completed)
            {
                return false;
            }
            _completed = true;
            if (trailers is not null && trailers.Count > 0)
            {
                ResponseTrailers.AddRange(trailers);
            }
            if (!_headersSent && !_http.Response.HasStarted)
            {
                RespondTrailersOnly(code, detail);
                return true;
            }
            var response = _http.Response;
            response.AppendTrailer(GrpcProtocol.StatusHeader, TrailersOnlyResponse.FormatStatus(code));
            if (detail.Length > 0)
            {
                response.AppendTrailer(GrpcProtocol.MessageHeader, GrpcProtocol.EncodeMessage(detail));
            }
            if (_responseTrailers is not null)
            {
                foreach (var entry in _responseTrailers)
                {
                    response.AppendTrailer(entry.Key, Metadata.ToHeaderValue(entry));
                }
            }
            return true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void RespondTrailersOnly(StatusCode code, string detail) =>
        TrailersOnlyResponse.Write(_http.Response, code, detail, _responseTrailers);

    private void RespondHttpError(int httpStatus, StatusCode code, string detail)
    {
        RespondTrailersOnly(code, detail);
        _http.Response.StatusCode = httpStatus;
        _completed = true;
    }

    private Metadata ReadRequestMetadata()
    {
        var metadata = new Metadata();
        foreach (var (name, values) in _http.Request.Headers)
        {
            // Kestrel reports known headers in canonical case (TE, Content-Type); HTTP/2 sends them lower-case.
            var key = name.ToLowerInvariant();
            if (Metadata.IsReserved(key))
            {
                continue;
            }
            foreach (var value in values)
            {
                if (value is not null)
                {
                    metadata.AddFromHeader(key, value);
                }
            }
        }
        return metadata;
    }
}
