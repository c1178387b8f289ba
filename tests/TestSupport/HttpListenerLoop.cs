using System.Net;

namespace Hawser.TestSupport;

/// <summary>The request loop of the HTTP endpoints tests run (webhook and OTLP receivers): each request read whole, answered with the handler's status.</summary>
public static class HttpListenerLoop
{
    /// <summary>Serves <paramref name="listener"/> until it is closed; <paramref name="handle"/> gets each request's path, headers and body and returns the status.</summary>
    public static async Task ServeAsync(HttpListener listener, Func<string, IReadOnlyDictionary<string, string>, byte[], int> handle)
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var headers = context.Request.Headers.AllKeys.OfType<string>().ToDictionary(k => k, k => context.Request.Headers[k] ?? "", StringComparer.OrdinalIgnoreCase);
            context.Response.StatusCode = handle(context.Request.Url?.AbsolutePath ?? "", headers, body.ToArray());
            context.Response.Close();
        }
    }
}
