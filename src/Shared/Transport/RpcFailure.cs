using Grpc.Core;

namespace Hawser.Shared.Transport;

/// <summary>Words for a failed call that an operator can act on.</summary>
public static class RpcFailure
{
    /// <summary>
    /// The status detail, and the cause beneath it when Grpc.Net.Client has one ("Error connecting to
    /// subchannel: Connection refused"), without the exception dump that RpcException.Message holds.
    /// </summary>
    public static string Describe(RpcException exception)
    {
        var detail = exception.Status.Detail.TrimEnd('.');
        var cause = exception.Status.DebugException;
        while (cause?.InnerException is not null && cause is not System.Net.Sockets.SocketException)
        {
            cause = cause.InnerException;
        }
        return cause is null || detail.Contains(cause.Message, StringComparison.Ordinal) ? detail : $"{detail}: {cause.Message.TrimEnd('.')}";
    }
}
