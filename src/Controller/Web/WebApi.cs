using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Google.Protobuf.WellKnownTypes;
using Hawser.Controller.Acme;
using Hawser.Controller.Api;
using Hawser.Controller.Pki;
using Hawser.Controller.Rollouts;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store;
using Hawser.Shared.Pki;
using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hawser.Controller.Web;

/// <summary>
/// The web UI and its JSON API under <c>/api/v1</c>, on the controller's HTTPS port. Every page and
/// call needs a session from <c>/login</c> (the admin token or the admin client certificate); every
/// state-changing call also needs the session's CSRF token in <c>X-CSRF-Token</c>.
/// </summary>
public sealed class WebApi(ControllerStore store, AgentSessions sessions, RolloutEngine rollouts, CertificateRenewer renewer,
    WebSessions logins, WebEvents events)
{
    private const string ApiPrefix = "/api/v1";
    private readonly LoginThrottle _throttle = new();

    /// <summary>Maps the pages and the API onto <paramref name="app"/>.</summary>
    public void MapTo(IEndpointRouteBuilder app)
    {
        app.MapGet("/login", context => LoginPageAsync(context, null, HttpStatusCode.OK));
        // What a page shows before a login: its stylesheet (the CSP allows no inline style) and the icon browsers ask for.
        app.MapGet("/login.css", context => PublicAssetAsync(context, "login.css"));
        app.MapGet("/favicon.svg", context => PublicAssetAsync(context, "favicon.svg"));
        app.MapGet("/favicon.ico", context => PublicAssetAsync(context, "favicon.svg"));
        app.MapPost("/login", LoginAsync);
        app.MapPost("/logout", Api(mutating: true, async (context, session) =>
        {
            await logins.EndAsync(session.Id, context.RequestAborted);
            context.Response.Cookies.Delete(WebSessions.CookieName);
            return null;
        }));
        app.MapGet("/", Page(IndexAsync));
        app.MapGet("/assets/{file}", Page(AssetAsync));
        app.MapGet($"{ApiPrefix}/nodes", Api(false, async (context, _) => Json(await NodesAsync(context.RequestAborted), WebJsonContext.Default.IReadOnlyListWebNode)));
        app.MapGet($"{ApiPrefix}/nodes/{{name}}", Api(false, (context, _) => NodeDetailAsync((string)context.GetRouteValue("name")!, context.RequestAborted)));
        app.MapGet($"{ApiPrefix}/revisions", Api(false, async (context, _) => Json(await RevisionsAsync(context.RequestAborted), WebJsonContext.Default.IReadOnlyListWebRevision)));
        app.MapGet($"{ApiPrefix}/revisions/diff", Api(false, (context, _) => DiffAsync(context.Request.Query["from"], context.Request.Query["to"], context.RequestAborted)));
        app.MapGet($"{ApiPrefix}/rollouts", Api(false, async (context, _) =>
            Json((IReadOnlyList<WebRollout>)[.. (await store.Rollouts.ListAsync(cancellationToken: context.RequestAborted)).Select(ToWeb)], WebJsonContext.Default.IReadOnlyListWebRollout)));
        app.MapGet($"{ApiPrefix}/rollouts/{{id}}", Api(false, (context, _) => RolloutAsync(context)));
        app.MapGet($"{ApiPrefix}/rollouts/{{id}}/timeline", Api(false, (context, _) => RolloutTimelineAsync(context)));
        app.MapPost($"{ApiPrefix}/rollouts", Api(true, StartRolloutAsync));
        app.MapPost($"{ApiPrefix}/rollouts/{{id}}/{{action}}", Api(true, ControlRolloutAsync));
        app.MapGet($"{ApiPrefix}/certificates", Api(false, async (context, _) => Json(await CertificatesAsync(context.RequestAborted), WebJsonContext.Default.IReadOnlyListWebCertificate)));
        app.MapPost($"{ApiPrefix}/certificates/{{name}}/renew", Api(true, RenewAsync));
        app.MapGet($"{ApiPrefix}/events", Page(EventsAsync, api: true));
    }

    /// <summary>The web UI's JSON for a rollout (also what the event stream sends).</summary>
    public static WebRollout ToWeb(RolloutRecord r) => new(r.Id, r.Revision, RolloutWords.Of(r.State), r.Reason, r.Batch, r.Batches, r.Promoted,
        r.CreatedAt, r.UpdatedAt, r.NextBatchAt,
        [.. r.Nodes.Select(n => new WebRolloutNode(n.Node, n.Batch, RolloutWords.Of(n.State), n.Detail, n.Failure, n.PreviousRevision))]);

    private Task<WebSession?> AuthenticateAsync(HttpContext context) => logins.FindAsync(context.Request.Cookies[WebSessions.CookieName], context.RequestAborted);

    /// <summary>A page: without a session, the browser is sent to the login page (an API stream gets 401).</summary>
    private RequestDelegate Page(Func<HttpContext, WebSession, Task> handler, bool api = false) => async context =>
    {
        Secure(context.Response);
        if (await AuthenticateAsync(context) is not { } session)
        {
            if (api)
            {
                await Error(context, HttpStatusCode.Unauthorized, "log in first (POST /login)");
                return;
            }
            context.Response.Redirect("/login");
            return;
        }
        await handler(context, session);
    };

    /// <summary>An API call: 401 without a session, 403 for a state change without the CSRF token; bad requests answer 400 or 409 with the reason.</summary>
    private RequestDelegate Api(bool mutating, Func<HttpContext, WebSession, Task<object?>> handler) => async context =>
    {
        Secure(context.Response);
        context.Response.Headers.CacheControl = "no-store";
        if (await AuthenticateAsync(context) is not { } session)
        {
            await Error(context, HttpStatusCode.Unauthorized, "log in first (POST /login)");
            return;
        }
        if (mutating && context.Request.Headers["X-CSRF-Token"] != session.Csrf)
        {
            await Error(context, HttpStatusCode.Forbidden, "missing or wrong X-CSRF-Token (the page's csrf-token meta)");
            return;
        }
        try
        {
            if (await handler(context, session) is (string json, int status))
            {
                context.Response.StatusCode = status;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(json, context.RequestAborted);
            }
            else if (!context.Response.HasStarted)
            {
                context.Response.StatusCode = StatusCodes.Status204NoContent;
            }
        }
        catch (WebRequestException ex)
        {
            await Error(context, ex.Status, ex.Message);
        }
        catch (RolloutException ex)
        {
            await Error(context, HttpStatusCode.Conflict, ex.Message);
        }
        catch (Exception ex) when (ex is CertificateOrderException or Acme.Client.AcmeException)
        {
            await Error(context, HttpStatusCode.Conflict, ex.Message);
        }
    };

    /// <summary>The event log's actor for what a web session does: its login (the admin token, or the certificate's subject).</summary>
    private static string WebActor(WebSession session) => $"web:{session.Who}";

    private static void Secure(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'";
        response.Headers.XFrameOptions = "DENY";
        response.Headers.XContentTypeOptions = "nosniff";
    }

    private static Task Error(HttpContext context, HttpStatusCode status, string message)
    {
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new WebError(message), WebJsonContext.Default.WebError), context.RequestAborted);
    }

    private static object? Json<T>(T value, JsonTypeInfo<T> type, int status = 200) => (JsonSerializer.Serialize(value, type), status);

    /// <summary>A duration from the web form, read as hawserctl reads one; null when empty; 400 naming the field when not a duration.</summary>
    private static TimeSpan? WebDuration(string? text, string field) =>
        string.IsNullOrWhiteSpace(text) ? null
        : Hawser.Shared.Cli.Durations.TryParse(text, field, out var value, out var error) ? value
        : throw new WebRequestException(HttpStatusCode.BadRequest, error!);

    private async Task LoginAsync(HttpContext context)
    {
        Secure(context.Response);
        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (_throttle.WaitFor(address) is { Ticks: > 0 } wait)
        {
            var seconds = (int)Math.Ceiling(wait.TotalSeconds);
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await LoginPageAsync(context, $"Too many wrong logins from {address}; try again in {seconds} s.", HttpStatusCode.TooManyRequests);
            return;
        }
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted) : null;
        string? who = null;
        var error = "That is not the admin token (see the file named below), nor an admin client certificate.";
        if (form?["method"].ToString() == "certificate" && context.Connection.ClientCertificate is { } certificate && Identity.Of(certificate) is { Role: IdentityRole.Admin } admin)
        {
            who = $"certificate {admin.Name}";
        }
        else if (form?["token"].ToString() is { Length: > 0 } token)
        {
            switch (logins.Check(token))
            {
                case TokenCheck.Matches:
                    // Named by fingerprint: replacing the token file ends the sessions made with this token.
                    await logins.EndSessionsOfReplacedTokenAsync(context.RequestAborted);
                    who = logins.TokenWho() ?? "admin token";
                    break;
                case TokenCheck.FileWasMissing:
                    error = $"The token file was missing, so no token could match; a new token was written to {logins.TokenPath}.";
                    break;
            }
        }
        if (who is null)
        {
            await store.Events.AddAsync(new EventRecord { Kind = "web.login-refused", Actor = $"web:{address}", Summary = $"web login refused from {address}", Details = [error] }, context.RequestAborted);
            _throttle.Failed(address);
            await LoginPageAsync(context, error, HttpStatusCode.Unauthorized);
            return;
        }
        _throttle.Succeeded(address);
        var session = await logins.CreateAsync(who, context.RequestAborted);
        await store.Events.AddAsync(new EventRecord { Kind = "web.login", Actor = WebActor(session), Summary = $"web login from {address} with the {who}" }, context.RequestAborted);
        context.Response.Cookies.Append(WebSessions.CookieName, session.Id, new CookieOptions
        {
            HttpOnly = true, Secure = true, SameSite = SameSiteMode.Strict, Path = "/", Expires = session.Expires,
        });
        context.Response.Redirect("/", permanent: false);
    }

    private Task LoginPageAsync(HttpContext context, string? error, HttpStatusCode status)
    {
        Secure(context.Response);
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "text/html; charset=utf-8";
        var certificate = context.Connection.ClientCertificate is { } presented && Identity.Of(presented).Role == IdentityRole.Admin
            ? """<form method="post"><input type="hidden" name="method" value="certificate"><button>Log in with my admin certificate</button></form>"""
            : "";
        var message = error is null ? "" : $"""<p class="error" role="alert">{WebUtility.HtmlEncode(error)}</p>""";
        return context.Response.WriteAsync($"""
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Hawser: log in</title><link rel="stylesheet" href="/login.css"><link rel="icon" href="/favicon.svg" type="image/svg+xml"></head><body>
            <h1>Hawser</h1>{message}
            <form method="post"><label>Admin token<input name="token" type="password" autocomplete="current-password" autofocus></label>
            <button>Log in</button></form>{certificate}
            <p><small>The token is in <code>{WebUtility.HtmlEncode(logins.TokenPath)}</code> on the controller (readable by its user only).</small></p>
            </body></html>
            """, context.RequestAborted);
    }

    private static Task PublicAssetAsync(HttpContext context, string file)
    {
        Secure(context.Response);
        context.Response.ContentType = file.EndsWith(".css", StringComparison.Ordinal) ? "text/css; charset=utf-8" : "image/svg+xml";
        context.Response.Headers.CacheControl = "public, max-age=3600";
        return context.Response.WriteAsync(Asset(file)!, context.RequestAborted);
    }

    private static async Task IndexAsync(HttpContext context, WebSession session)
    {
        var html = Asset("index.html")!.Replace("{{csrf}}", session.Csrf, StringComparison.Ordinal);
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(html, context.RequestAborted);
    }

    private static async Task AssetAsync(HttpContext context, WebSession session)
    {
        var file = (string)context.GetRouteValue("file")!;
        if (file is not ("app.js" or "app.css") || Asset(file) is not { } text)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        context.Response.ContentType = file.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
        await context.Response.WriteAsync(text, context.RequestAborted);
    }

    // The bundle is built into the binary and never changes while it runs: read each file once.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string?> Assets = new(StringComparer.Ordinal);

    private static string? Asset(string name) => Assets.GetOrAdd(name, static file =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("web/" + file);
        return stream is null ? null : new StreamReader(stream, Encoding.UTF8).ReadToEnd();
    });

    /// <summary>Server-sent events: <c>rollout</c> (the rollout's JSON) when one changes, <c>nodes</c> when a node reports.</summary>
    private async Task EventsAsync(HttpContext context, WebSession session)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-store";
        var channel = events.Subscribe();
        try
        {
            await context.Response.WriteAsync(": connected\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await foreach (var (name, data) in channel.Reader.ReadAllAsync(context.RequestAborted))
            {
                await context.Response.WriteAsync($"event: {name}\ndata: {data}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            events.Unsubscribe(channel);
        }
    }

    private async Task<List<WebNode>> NodesAsync(CancellationToken cancellationToken)
    {
        var expiry = await CertificateExpiryAsync(cancellationToken);
        return [.. (await store.Nodes.ListAsync(cancellationToken)).Select(n => ToWeb(n, expiry.GetValueOrDefault(n.Name)))];
    }

    /// <summary>Per node, when the first of its controller-obtained certificates ends.</summary>
    private async Task<Dictionary<string, DateTimeOffset?>> CertificateExpiryAsync(CancellationToken cancellationToken)
    {
        var expiry = new Dictionary<string, DateTimeOffset?>(StringComparer.Ordinal);
        var held = (await store.Certificates.ListAsync(cancellationToken)).ToDictionary(c => c.Name, StringComparer.Ordinal);
        foreach (var target in (await renewer.CurrentPlanAsync(cancellationToken))?.Targets ?? [])
        {
            if (held.GetValueOrDefault(target.Name)?.NotAfter is not { } notAfter)
            {
                continue;
            }
            foreach (var node in target.Nodes)
            {
                expiry[node] = expiry.GetValueOrDefault(node) is { } earlier && earlier < notAfter ? earlier : notAfter;
            }
        }
        return expiry;
    }

    private WebNode ToWeb(NodeRecord record, DateTimeOffset? certificateExpiry)
    {
        var report = record.LastReport;
        var connected = sessions.IsConnected(record);
        var failed = report?.Resources.Count(r => r.IsFailed) ?? 0;
        var state = StateWords.Node(connected, report is not null, failed > 0, record.AppliedRevision, record.DesiredRevision, record.PinnedRevision);
        return new WebNode(record.Name, connected, state, record.Labels, record.AgentVersion, record.DesiredRevision, record.AppliedRevision, record.PinnedRevision,
            record.LastSeen, record.LastReportAt, report?.Count(ResourceOutcome.InSync) ?? 0, report?.Count(ResourceOutcome.Changed) ?? 0,
            failed, record.DriftCorrected, certificateExpiry);
    }

    private async Task<object?> NodeDetailAsync(string name, CancellationToken cancellationToken)
    {
        var record = await store.Nodes.GetAsync(name, cancellationToken) ?? throw new WebRequestException(HttpStatusCode.NotFound, $"no node '{name}'");
        var resources = (record.LastReport?.Resources ?? []).Select(r => new WebResource(r.Kind, r.Name, StateWords.Resource(Hawser.Controller.Api.ReportWire.State(r.State)), r.Diff, r.Error)).ToList();
        // The node's timeline, newest first: its converges, failures, drift, certificates, rollout steps.
        var history = (await store.Events.ListAsync(new EventQuery { Node = name, Limit = 100 }, cancellationToken)).Reverse().Select(ToWeb).ToList();
        return Json(new WebNodeDetail(ToWeb(record, (await CertificateExpiryAsync(cancellationToken)).GetValueOrDefault(name)), resources, history), WebJsonContext.Default.WebNodeDetail);
    }

    private static WebEvent ToWeb(EventRecord e) => new(e.At, e.Kind, e.Actor, e.Summary, e.Details);

    /// <summary>Every step of one rollout from the event log, oldest first (the store prefixes each with "rollout ID: ").</summary>
    private async Task<object?> RolloutTimelineAsync(HttpContext context)
    {
        var prefix = $"rollout {RouteNumber(context, "id")}: ";
        var steps = (await store.Events.ListAsync(new EventQuery { Kind = "rollout", Limit = 5_000 }, context.RequestAborted))
            .Where(e => e.Summary.StartsWith(prefix, StringComparison.Ordinal))
            .Select(e => ToWeb(e with { Summary = e.Summary[prefix.Length..] })).ToList();
        return Json<IReadOnlyList<WebEvent>>(steps, WebJsonContext.Default.IReadOnlyListWebEvent);
    }

    private async Task<List<WebRevision>> RevisionsAsync(CancellationToken cancellationToken) => [.. (await store.Revisions.ListAsync(200, cancellationToken)).Select(r => new WebRevision(r.Number, r.Author, r.Message, r.CreatedAt))];

    private async Task<object?> DiffAsync(string? from, string? to, CancellationToken cancellationToken)
    {
        async Task<RevisionRecord> ReadAsync(string? text, string which) =>
            ulong.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
                ? await store.Revisions.GetAsync(number, cancellationToken) ?? throw new WebRequestException(HttpStatusCode.NotFound, $"no revision {number}")
                : throw new WebRequestException(HttpStatusCode.BadRequest, $"'{which}' must be a revision number");
        var left = await ReadAsync(from, "from");
        var right = await ReadAsync(to, "to");
        var hunks = Hawser.Shared.Text.LineDiff.Hunks(Hawser.Shared.Text.LineDiff.Lines(left.SpecText, right.SpecText))
            .Select(h => new WebDiffHunk(h.Header, [.. h.Lines.Select(l => new WebDiffLine(l.Change.ToString().ToLowerInvariant(), l.OldNumber, l.NewNumber, l.Text))]))
            .ToList();
        return Json(new WebDiff(left.Number, right.Number, hunks, SideBySide.Rows(left.SpecText, right.SpecText)), WebJsonContext.Default.WebDiff);
    }

    private async Task<object?> RolloutAsync(HttpContext context)
    {
        var id = RouteNumber(context, "id");
        var rollout = await store.Rollouts.GetAsync(id, context.RequestAborted) ?? throw new WebRequestException(HttpStatusCode.NotFound, $"no rollout {id}");
        return Json(ToWeb(rollout), WebJsonContext.Default.WebRollout);
    }

    private async Task<object?> StartRolloutAsync(HttpContext context, WebSession session)
    {
        WebRolloutRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, WebJsonContext.Default.WebRolloutRequest, context.RequestAborted);
        }
        catch (JsonException ex)
        {
            throw new WebRequestException(HttpStatusCode.BadRequest, $"the body is not a rollout request: {ex.Message}");
        }
        if (request is null)
        {
            throw new WebRequestException(HttpStatusCode.BadRequest, "the body is empty");
        }
        var settings = new RolloutSettings
        {
            Selector = request.Selector ?? "",
            Batch = request.Batch ?? "",
            Canary = request.Canary,
            Pause = WebDuration(request.Pause, "pause") ?? TimeSpan.Zero,
            MaxFailures = request.MaxFailures ?? "",
            OnFailure = request.OnFailure ?? "",
            Checks = request.Check is { Length: > 0 } check
                ? [new HttpCheckSettings(check, request.ExpectStatus ?? "", WebDuration(request.Hold, "hold") ?? TimeSpan.Zero, WebDuration(request.CheckTimeout, "check timeout"))]
                : [],
            GateTimeout = WebDuration(request.GateTimeout, "gate timeout"),
        };
        var rollout = await rollouts.StartAsync(request.Revision, settings, WebActor(session), context.RequestAborted);
        return Json(ToWeb(rollout), WebJsonContext.Default.WebRollout, StatusCodes.Status201Created);
    }

    private async Task<object?> ControlRolloutAsync(HttpContext context, WebSession session)
    {
        var rollout = await rollouts.ControlAsync(RouteNumber(context, "id"), (string)context.GetRouteValue("action")!, WebActor(session), context.RequestAborted);
        return Json(ToWeb(rollout), WebJsonContext.Default.WebRollout);
    }

    private async Task<List<WebCertificate>> CertificatesAsync(CancellationToken cancellationToken) =>
        [.. (await CertificatesApi.ListAsync(store, renewer, cancellationToken)).Select(ToWeb)];

    private static WebCertificate ToWeb(Certificate c) => new(c.Name, [.. c.Domains], [.. c.Nodes], c.Serial.Length > 0 ? c.Serial : null,
        c.NotAfter?.ToDateTimeOffset(), c.RenewAt?.ToDateTimeOffset(), c.LastError.Length > 0 ? c.LastError : null, new Dictionary<string, string>(c.Installed));

    private async Task<object?> RenewAsync(HttpContext context, WebSession session)
    {
        var (target, issued) = await renewer.RenewAsync((string)context.GetRouteValue("name")!, null, context.RequestAborted);
        return Json(ToWeb(await CertificatesApi.DescribeAsync(store, target, issued, context.RequestAborted)), WebJsonContext.Default.WebCertificate);
    }

    private static ulong RouteNumber(HttpContext context, string name) =>
        ulong.TryParse((string?)context.GetRouteValue(name), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
            ? number : throw new WebRequestException(HttpStatusCode.BadRequest, $"'{name}' must be a number");

    /// <summary>A request the API refuses, with the HTTP status to answer.</summary>
    private sealed class WebRequestException(HttpStatusCode status, string message) : Exception(message)
    {
        public HttpStatusCode Status => status;
    }
}
