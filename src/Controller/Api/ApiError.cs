using Grpc.Core;

namespace Hawser.Controller.Api;

/// <summary>The error a handler throws to end its call with a status and a message for the caller.</summary>
internal static class ApiError
{
    /// <summary>An <see cref="RpcException"/> with <paramref name="code"/> and <paramref name="detail"/>.</summary>
    public static RpcException Of(StatusCode code, string detail) => new(new Status(code, detail));
}
