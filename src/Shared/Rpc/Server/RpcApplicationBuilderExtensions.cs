using Microsoft.AspNetCore.Builder;

namespace Hawser.Shared.Rpc.Server;

/// <summary>Plugs an <see cref="RpcServer"/> into an ASP.NET Core pipeline.</summary>
public static class RpcApplicationBuilderExtensions
{
    /// <summary>Serves gRPC calls; every other request goes on to the next middleware.</summary>
    public static IApplicationBuilder UseRpc(this IApplicationBuilder app, RpcServer server) =>
        app.Use(async (context, next) =>
        {
            if (!await server.TryHandleAsync(context).ConfigureAwait(false))
            {
                await next(context).ConfigureAwait(false);
            }
        });
}
