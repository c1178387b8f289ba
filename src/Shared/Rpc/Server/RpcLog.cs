using Microsoft.Extensions.Logging;

namespace Hawser.Shared.Rpc.Server;

/// <summary>The server's log messages.</summary>
internal static partial class RpcLog
{
    [LoggerMessage(1, LogLevel.Debug, "{Method}: the client cancelled or disconnected")]
    public static partial void ClientGone(ILogger logger, Exception exception, string method);

    [LoggerMessage(2, LogLevel.Error, "{Method}: the handler failed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string method);

    [LoggerMessage(3, LogLevel.Debug, "{Method}: could not send DEADLINE_EXCEEDED, the stream is already gone")]
    public static partial void DeadlineNotSent(ILogger logger, Exception exception, string method);
}
