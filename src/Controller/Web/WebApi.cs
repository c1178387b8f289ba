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
using Hawser.Shared.Cli;
using Hawser.Shared.Pki;
using Hawser.Controller.Store.Repositories;
using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hawser.Controller.Web;

/// <summary>
/// The web UI and its JSON API under <c>/api/v1</c>, on the controller's HTTPS port. Every page and call needs a sign-in
/// (<see cref="WebAuthentication"/>: an operator's client certificate, the identity provider, or the break-glass admin token
/// when enabled) and the access <see cref="MethodAuthorization.WebRoutes"/> names for it, which the caller's role must grant;
/// every state-changing call also needs the antiforgery token (the page's csrf-token meta) in <c>X-CSRF-Token</c>.
/// </summary>
public sealed class WebApi(ControllerStore store, AgentSessions sessions, RolloutEngine rollouts, CertificateRenewer renewer,
    WebSignIn logins, WebEvents events, CallerIdentity callers, IAntiforgery antiforgery, RefusalLog refusals, ScopedChanges scoped, DesiredStates desired, Hosting.BackgroundJobs jobs,
    SsoSettings? sso = null)
{
    private const string ApiPrefix = "/api/v1";

    // The controller's version, as agents report theirs.

    /// <summary>
    /// Maps the pages and the API onto <paramref name="app"/>. Each route takes its access from
    /// <see cref="MethodAuthorization.WebRoutes"/>; a route missing there fails the controller's start.
    /// </summary>
    public void MapTo(IEndpointRouteBuilder app)
    {
        app.MapGet("/login", context => LoginPageAsync(context, null, HttpStatusCode.OK));
        // What a page shows before a login: its stylesheet (the CSP allows no inline style) and the icon browsers ask for.
        app.MapGet("/login.css", context => PublicAssetAsync(context, "login.css"));
        app.MapGet("/favicon.svg", context => PublicAssetAsync(context, "favicon.svg"));
        app.MapGet("/favicon.ico", context => PublicAssetAsync(context, "favicon.svg"));
        app.MapPost("/login", LoginAsync).RequireRateLimiting(WebAuthentication.LoginPolicy);
        app.MapGet("/login/sso", SsoAsync).RequireRateLimiting(WebAuthentication.LoginPolicy);
        foreach (var anonymous in (string[])["GET /login", "GET /login.css", "GET /favicon.svg", "GET /favicon.ico", "POST /login", "GET /login/sso"])
        {
            _ = MethodAuthorization.WebRoutes[anonymous] == Access.Anonymous ? 0 : throw new InvalidOperationException($"{anonymous} is served without a login");
        }
        app.MapPost("/logout", Api("POST /logout", async (context, _) =>
        {
            await context.SignOutAsync(WebAuthentication.CookieScheme);
            return null;
        }));
        app.MapGet("/", Page("GET /", IndexAsync));
        app.MapGet("/assets/{file}", Page("GET /assets/{file}", AssetAsync));
        Get(app, "/whoami", (_, caller) => Task.FromResult(Json(new WebWhoAmI(caller.Actor, OperatorRepository.RoleWord(caller.Role), caller.Operator?.Scope ?? "all nodes"), WebJsonContext.Default.WebWhoAmI)));
        Get(app, "/nodes", async (context, caller) => Json(await NodesAsync(caller, context.RequestAborted), WebJsonContext.Default.IReadOnlyListWebNode));
        Get(app, "/controller", ControllerHealthAsync);
        Get(app, "/nodes/{name}", (context, caller) => NodeDetailAsync((string)context.GetRouteValue("name")!, caller, context.RequestAborted));
        Get(app, "/revisions", async (context, _) => Json(await RevisionsAsync(context.RequestAborted), WebJsonContext.Default.IReadOnlyListWebRevision));
        Get(app, "/revisions/diff", (context, _) => DiffAsync(context.Request.Query["from"], context.Request.Query["to"], context.RequestAborted));
        Get(app, "/rollouts", async (context, caller) =>
        {
            var sees = await VisibleAsync(caller, context.RequestAborted);
            return Json((IReadOnlyList<WebRollout>)[.. (await store.Rollouts.ListAsync(cancellationToken: context.RequestAborted)).Select(r => ToWeb(r, sees))],
                WebJsonContext.Default.IReadOnlyListWebRollout);
        });
        Get(app, "/rollouts/{id}", RolloutAsync);
        Get(app, "/rollouts/{id}/timeline", RolloutTimelineAsync);
        Get(app, "/events/recent", RecentTroubleAsync);
        Get(app, "/events/log", EventLogAsync);
        Get(app, "/charts/outcomes", OutcomeChartAsync);
        Get(app, "/nodes-unenrolled", async (context, caller) => Json<IReadOnlyList<UnenrolledNodeRecord>>(
            await UnenrolledNodes.OfNewestAsync(store, desired, await store.Nodes.ListWithoutReportsAsync(context.RequestAborted), labels => caller.Operator?.Sees(labels) ?? true, context.RequestAborted),
            WebJsonContext.Default.IReadOnlyListUnenrolledNodeRecord));
        Post(app, "/rollouts", StartRolloutAsync);
        Post(app, "/rollouts/{id}/{action}", ControlRolloutAsync);
        Get(app, "/certificates", async (context, caller) => Json(await CertificatesAsync(caller, context.RequestAborted), WebJsonContext.Default.IReadOnlyListWebCertificate));
        Post(app, "/certificates/{name}/renew", RenewAsync);
        app.MapGet($"{ApiPrefix}/events", Page($"GET {ApiPrefix}/events", EventsAsync, api: true));
    }

    private void Get(IEndpointRouteBuilder app, string path, Func<HttpContext, WebCaller, Task<object?>> handler) =>
        app.MapGet(ApiPrefix + path, Api($"GET {ApiPrefix}{path}", handler));

    private void Post(IEndpointRouteBuilder app, string path, Func<HttpContext, WebCaller, Task<object?>> handler) =>
        app.MapPost(ApiPrefix + path, Api($"POST {ApiPrefix}{path}", handler));

    /// <summary>The web UI's JSON for a rollout (also what the event stream sends), with only the nodes <paramref name="sees"/> lets through.</summary>
    public static WebRollout ToWeb(RolloutRecord r, Func<string, bool>? sees = null) => new(r.Id, r.Revision, RolloutWords.Of(r.State), r.Reason, r.Batch, r.Batches, r.Promoted,
        r.CreatedAt, r.UpdatedAt, r.NextBatchAt,
        [.. r.Nodes.Where(n => sees?.Invoke(n.Node) ?? true).Select(n => new WebRolloutNode(n.Node, n.Batch, RolloutWords.Of(n.State), n.Detail, n.Failure, n.PreviousRevision))]);

    /// <summary>Which nodes a caller scoped by a selector sees, by name (their labels read now); null for a caller who sees every node.</summary>
    private Task<Func<string, bool>?> VisibleAsync(WebCaller caller, CancellationToken cancellationToken) =>
        OperatorScope.VisibleNodesAsync(store, caller.Operator, cancellationToken);

    /// <summary>
    /// The signed-in caller: an operator (looked up on every request, so a revocation or a new role holds at once; a revoked
    /// operator's session ends) or the break-glass admin token; null without a live session.
    /// </summary>
    private async Task<WebCaller?> AuthenticateAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(WebAuthentication.CookieScheme);
        if (!result.Succeeded)
        {
            return null;
        }
        if (await logins.CallerAsync(result.Principal, context.RequestAborted) is { } caller)
        {
            return caller;
        }
        // A sign-in that no longer holds (revoked operator, break-glass off or its token replaced) ends here, on every controller.
        await context.SignOutAsync(WebAuthentication.CookieScheme);
        return null;
    }

    /// <summary>Whether the caller's role holds the route's access; if not, answers 403 naming who and what, and stores the refusal.</summary>
    private async Task<bool> AllowedAsync(HttpContext context, WebCaller caller, string route)
    {
        var needed = MethodAuthorization.WebRoutes[route];
        if (MethodAuthorization.Grants(caller.Role, needed))
        {
            return true;
        }
        var message = $"operator '{caller.Actor}' is a {OperatorRepository.RoleWord(caller.Role)}: {route} needs {CallerIdentity.Needs(needed)}";
        // Counted per caller and address like every refusal: a flood of them is one event a minute, not one a request.
        refusals.WebRefused(route, WebAuthentication.AddressOf(context).ToString(), message, caller.Actor);
        await Error(context, HttpStatusCode.Forbidden, message);
        return false;
    }

    /// <summary>A page: without a session, the browser is sent to the login page (an API stream gets 401).</summary>
    private RequestDelegate Page(string route, Func<HttpContext, WebCaller, Task> handler, bool api = false)
    {
        _ = MethodAuthorization.WebRoutes[route];
        return async context =>
        {
            Secure(context.Response);
            if (await AuthenticateAsync(context) is not { } caller)
            {
                if (api)
                {
                    await Error(context, HttpStatusCode.Unauthorized, "log in first (POST /login)");
                    return;
                }
                context.Response.Redirect("/login");
                return;
            }
            if (await AllowedAsync(context, caller, route))
            {
                await handler(context, caller);
            }
        };
    }

    /// <summary>An API call: 401 without a session, 403 for a state change without the CSRF token or beyond the caller's role; bad requests answer 400 or 409 with the reason.</summary>
    private RequestDelegate Api(string route, Func<HttpContext, WebCaller, Task<object?>> handler)
    {
        _ = MethodAuthorization.WebRoutes[route];
        var mutating = route.StartsWith("POST ", StringComparison.Ordinal);
        return async context =>
        {
            Secure(context.Response);
            context.Response.Headers.CacheControl = "no-store";
            if (await AuthenticateAsync(context) is not { } caller)
            {
                await Error(context, HttpStatusCode.Unauthorized, "log in first (POST /login)");
                return;
            }
            if (mutating && !await antiforgery.IsRequestValidAsync(context))
            {
                await Error(context, HttpStatusCode.Forbidden, "missing or wrong X-CSRF-Token (the page's csrf-token meta)");
                return;
            }
            if (!await AllowedAsync(context, caller, route))
            {
                return;
            }
            try
            {
                if (await handler(context, caller) is (string json, int status))
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
    }

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
        var address = WebAuthentication.AddressOf(context);
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted) : null;
        System.Security.Claims.ClaimsPrincipal? principal = null;
        var error = logins.BreakGlass ? "That is not the admin token (see the file named below), nor a live operator's client certificate."
            : "That is not a live operator's client certificate (the admin token login is off).";
        if (form?["method"].ToString() == "certificate" && context.Connection.ClientCertificate is { } certificate)
        {
            var (found, problem) = await callers.OperatorAsync(Identity.Of(certificate), context.RequestAborted);
            principal = found is null ? null : WebSignIn.Operator(found);
            error = found is null ? $"Your certificate is refused: {problem}." : error;
        }
        else if (form?["token"].ToString() is { Length: > 0 } token)
        {
            switch (logins.BreakGlass ? logins.Check(token) : TokenCheck.DoesNotMatch)
            {
                case TokenCheck.Matches:
                    // Named by fingerprint: replacing the token file ends the sign-ins made with this token.
                    await logins.EndSignInsOfReplacedTokenAsync(context.RequestAborted);
                    principal = WebSignIn.BreakGlassAdmin(logins.TokenWho() ?? "admin token");
                    break;
                case TokenCheck.FileWasMissing:
                    error = $"The token file was missing, so no token could match; a new token was written to {Path.GetFileName(logins.TokenPath)} in the controller's data directory.";
                    break;
            }
        }
        if (principal is null)
        {
            await store.Events.AddAsync(new EventRecord { Kind = "web.login-refused", Actor = $"peer:{address}", Summary = $"web login refused from {address}", Details = [error] }, context.RequestAborted);
            await LoginPageAsync(context, error, HttpStatusCode.Unauthorized);
            return;
        }
        await SignInAsync(context, principal, address);
        context.Response.Redirect("/", permanent: false);
    }

    /// <summary>Signs <paramref name="principal"/> in for <see cref="WebAuthentication.Lifetime"/>, with its event (the break-glass token's of its own kind).</summary>
    private async Task SignInAsync(HttpContext context, System.Security.Claims.ClaimsPrincipal principal, IPAddress address)
    {
        await context.SignInAsync(WebAuthentication.CookieScheme, principal,
            new Microsoft.AspNetCore.Authentication.AuthenticationProperties { IsPersistent = true, ExpiresUtc = DateTimeOffset.UtcNow + WebAuthentication.Lifetime });
        var actor = principal.Identity!.Name!;
        await store.Events.AddAsync(new EventRecord
        {
            Kind = WebSignIn.KindOf(principal) == WebSignInKind.BreakGlass ? "web.break-glass" : "web.login", Actor = actor,
            Summary = $"web login of {actor} from {address}",
        }, context.RequestAborted);
    }

    /// <summary>The login form's answer when an address tries too often: 429 with when to try again.</summary>
    internal Task TooManyLoginsAsync(HttpContext context, TimeSpan wait)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return LoginPageAsync(context, $"Too many logins from {WebAuthentication.AddressOf(context)}; try again in {seconds} s.", HttpStatusCode.TooManyRequests);
    }

    /// <summary>GET /login/sso: off to the identity provider, which sends the browser back to <see cref="WebAuthentication.SsoCallbackPath"/>.</summary>
    private async Task SsoAsync(HttpContext context)
    {
        Secure(context.Response);
        if (sso is null)
        {
            await LoginPageAsync(context, "Single sign-on is not set up on this controller (hawser-controller run --sso FILE).", HttpStatusCode.NotFound);
            return;
        }
        await context.ChallengeAsync(WebAuthentication.SsoScheme, new Microsoft.AspNetCore.Authentication.AuthenticationProperties { RedirectUri = "/" });
    }

    /// <summary>
    /// The identity provider vouched for someone: the first configured group they are in decides their role and scope, and
    /// they are signed in under their e-mail (else their subject); in no configured group, they are refused, with an event.
    /// </summary>
    internal async Task SsoSignedInAsync(Microsoft.AspNetCore.Authentication.TicketReceivedContext context, SsoSettings settings)
    {
        var provided = context.Principal!;
        var subject = provided.FindFirst("sub")?.Value ?? "";
        var actor = TerminalText.Neutralize(provided.FindFirst("email")?.Value is { Length: > 0 } email ? email : $"sso:{subject}");
        var address = WebAuthentication.AddressOf(context.HttpContext);
        if (settings.Grant(provided.FindAll(settings.GroupsClaim).Select(c => c.Value)) is not { } grant)
        {
            await store.Events.AddAsync(new EventRecord
            {
                Kind = "web.login-refused", Actor = actor, Summary = $"web login of {actor} from {address} refused: in none of the groups the controller maps",
                Details = [$"subject {TerminalText.Neutralize(subject)}", $"groups: {string.Join(", ", provided.FindAll(settings.GroupsClaim).Select(c => TerminalText.Neutralize(c.Value)))}"],
            }, context.HttpContext.RequestAborted);
            context.HandleResponse();
            await LoginPageAsync(context.HttpContext, $"{actor} signed in at {settings.DisplayName}, but is in none of the groups this controller grants a role to.", HttpStatusCode.Forbidden);
            return;
        }
        context.HandleResponse();
        await SignInAsync(context.HttpContext, WebSignIn.Sso(actor, subject, grant), address);
        context.HttpContext.Response.Redirect("/", permanent: false);
    }

    /// <summary>The provider's answer could not be used (a wrong state, an error from the provider): said on the login page, never a stack trace.</summary>
    internal async Task SsoFailedAsync(Microsoft.AspNetCore.Authentication.RemoteFailureContext context)
    {
        context.HandleResponse();
        await LoginPageAsync(context.HttpContext, $"Single sign-on failed: {context.Failure?.Message}", HttpStatusCode.Unauthorized);
    }

    private Task LoginPageAsync(HttpContext context, string? error, HttpStatusCode status)
    {
        Secure(context.Response);
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "text/html; charset=utf-8";
        var certificate = context.Connection.ClientCertificate is { } presented && Identity.Of(presented) is { Role: IdentityRole.Operator } named
            ? $"""<form method="post"><input type="hidden" name="method" value="certificate"><button>Log in as {WebUtility.HtmlEncode(TerminalText.Neutralize(named.Name))} (my client certificate)</button></form>"""
            : "";
        var single = sso is null ? "" : $"""<p><a class="button" id="sso" href="/login/sso">Sign in with {WebUtility.HtmlEncode(sso.DisplayName)}</a></p>""";
        var token = logins.BreakGlass ? $"""
            <form method="post"><label>Admin token (break-glass)<input name="token" type="password" autocomplete="current-password" autofocus></label>
            <button>Log in</button></form>
            <p><small>The token is the file <code>{WebUtility.HtmlEncode(Path.GetFileName(logins.TokenPath))}</code> in the controller's data directory (readable by its user only; the controller's log names the path at start); every use is in the event log.</small></p>
            """ : sso is null ? "<p>Log in with an operator's client certificate: import it into this browser (<code>hawserctl operator enroll</code> made it).</p>" : "";
        var message = error is null ? "" : $"""<p class="error" role="alert">{WebUtility.HtmlEncode(error)}</p>""";
        return context.Response.WriteAsync($"""
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Hawser: log in</title><link rel="stylesheet" href="/login.css"><link rel="icon" href="/favicon.svg" type="image/svg+xml"></head><body>
            <h1>Hawser</h1>{message}{single}{certificate}{token}
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

    private async Task IndexAsync(HttpContext context, WebCaller caller)
    {
        var html = Asset("index.html")!.Replace("{{csrf}}", antiforgery.GetAndStoreTokens(context).RequestToken, StringComparison.Ordinal)
            .Replace("{{role}}", OperatorRepository.RoleWord(caller.Role), StringComparison.Ordinal)
            .Replace("{{who}}", WebUtility.HtmlEncode(TerminalText.Neutralize(caller.Actor)), StringComparison.Ordinal);
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(html, context.RequestAborted);
    }

    private static async Task AssetAsync(HttpContext context, WebCaller caller)
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
    private async Task EventsAsync(HttpContext context, WebCaller caller)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-store";
        var channel = events.Subscribe();
        try
        {
            await context.Response.WriteAsync(": connected\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            // A scoped caller's stream carries its own nodes only; which those are is read again at most every 10 s.
            var sees = await VisibleAsync(caller, context.RequestAborted);
            var seenAt = DateTimeOffset.UtcNow;
            await foreach (var (name, data) in channel.Reader.ReadAllAsync(context.RequestAborted))
            {
                var sent = data;
                if (sees is not null)
                {
                    if (DateTimeOffset.UtcNow - seenAt > TimeSpan.FromSeconds(10))
                    {
                        (sees, seenAt) = (await VisibleAsync(caller, context.RequestAborted), DateTimeOffset.UtcNow);
                    }
                    sent = name switch
                    {
                        "nodes" when !sees!(JsonSerializer.Deserialize(data, WebJsonContext.Default.String) ?? "") => null,
                        "rollout" when JsonSerializer.Deserialize(data, WebJsonContext.Default.WebRollout) is { } rollout =>
                            JsonSerializer.Serialize(rollout with { Nodes = [.. rollout.Nodes.Where(n => sees!(n.Node))] }, WebJsonContext.Default.WebRollout),
                        _ => data,
                    };
                    if (sent is null)
                    {
                        continue;
                    }
                }
                await context.Response.WriteAsync($"event: {name}\ndata: {sent}\n\n", context.RequestAborted);
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

    private async Task<List<WebNode>> NodesAsync(WebCaller caller, CancellationToken cancellationToken)
    {
        var expiry = await CertificateExpiryAsync(cancellationToken);
        // A scoped operator sees its own nodes only, as in hawserctl.
        return [.. (await store.Nodes.ListAsync(cancellationToken)).Where(n => caller.Operator?.Sees(n.Labels) ?? true).Select(n => ToWeb(n, expiry.GetValueOrDefault(n.Name)))];
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
        var versionProblem = ControllerVersion.ProblemWith(record.AgentVersion);
        var state = versionProblem is not null ? StateWords.Incompatible : StateWords.Node(connected, report is not null, failed > 0, record.AppliedRevision, record.DesiredRevision);
        return new WebNode(record.Name, connected, state, record.Labels, record.AgentVersion, record.DesiredRevision, record.AppliedRevision, record.PinnedRevision,
            record.LastSeen, record.LastReportAt, report?.Count(ResourceOutcome.InSync) ?? 0, report?.Count(ResourceOutcome.Changed) ?? 0,
            failed, record.DriftCorrected, certificateExpiry, sessions.HolderOf(record), versionProblem);
    }

    private async Task<object?> NodeDetailAsync(string name, WebCaller caller, CancellationToken cancellationToken)
    {
        var record = await store.Nodes.GetAsync(name, cancellationToken) is { } found && (caller.Operator?.Sees(found.Labels) ?? true) ? found
            : throw new WebRequestException(HttpStatusCode.NotFound, $"no node '{name}'");
        var resources = (record.LastReport?.Resources ?? []).Select(r => new WebResource(r.Kind, r.Name, StateWords.Resource(Hawser.Controller.Api.ReportWire.State(r.State)), r.Diff, r.Error)).ToList();
        // The node's timeline, newest first: its converges, failures, drift, certificates, rollout steps.
        var history = (await store.Events.ListAsync(new EventQuery { Node = name, Limit = 100 }, cancellationToken)).Reverse().Select(ToWeb).ToList();
        return Json(new WebNodeDetail(ToWeb(record, (await CertificateExpiryAsync(cancellationToken)).GetValueOrDefault(name)), resources, history), WebJsonContext.Default.WebNodeDetail);
    }

    private static WebEvent ToWeb(EventRecord e) => new(e.At, e.Kind, e.Actor, e.Summary, e.Details) { Node = e.Node };

    /// <summary>Every step of one rollout from the event log, oldest first (the store prefixes each with "rollout ID: ").</summary>
    private async Task<object?> RolloutTimelineAsync(HttpContext context, WebCaller caller)
    {
        var prefix = $"rollout {RouteNumber(context, "id")}: ";
        var sees = await VisibleAsync(caller, context.RequestAborted);
        var steps = (await store.Events.ListAsync(new EventQuery { Kind = "rollout", Limit = 5_000 }, context.RequestAborted))
            .Where(e => e.Summary.StartsWith(prefix, StringComparison.Ordinal) && (e.Node.Length == 0 || (sees?.Invoke(e.Node) ?? true)))
            .Select(e => ToWeb(e with { Summary = e.Summary[prefix.Length..] })).ToList();
        return Json<IReadOnlyList<WebEvent>>(steps, WebJsonContext.Default.IReadOnlyListWebEvent);
    }

    /// <summary>The kinds the overview lists as recent trouble: failures, drift put back, certificates not ordered or not served.</summary>
    private static readonly string[] TroubleKinds = ["node.failed", "node.drift-corrected", "certificate.order-failed", "certificate.not-served", "certificate.served-expiring"];

    /// <summary>The overview's controller health: every background job running, and the store answering a read now.</summary>
    private async Task<object?> ControllerHealthAsync(HttpContext context, WebCaller caller)
    {
        List<string> problems = [.. jobs.Problems.Select(p => $"{p.Key}: {p.Value}")];
        try
        {
            await store.Events.LastIdAsync(context.RequestAborted);
        }
        catch (System.Data.Common.DbException ex)
        {
            problems.Add($"store: {ex.Message}");
        }
        return Json(new WebControllerHealth(sessions.ControllerId, problems.Count == 0, problems, store.Engine.Name, store.Engine.IsShared, ControllerVersion.Text),
            WebJsonContext.Default.WebControllerHealth);
    }

    /// <summary>The overview's chart of the last 24 hours, hour by hour (every hour listed, oldest first), only about nodes the caller sees.</summary>
    private async Task<object?> OutcomeChartAsync(HttpContext context, WebCaller caller)
    {
        var sees = await VisibleAsync(caller, context.RequestAborted);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 3600;
        var counts = (await store.Events.CountByHourAsync(DateTimeOffset.FromUnixTimeSeconds((now - 23) * 3600), ["node.converged", "node.failed", "node.drift-corrected"],
            context.RequestAborted)).Where(c => sees?.Invoke(c.Node) ?? true).ToList();
        long Sum(long hour, string kind) => counts.Where(c => c.Hour == hour && c.Kind == kind).Sum(c => c.Count);
        return Json((IReadOnlyList<WebOutcomeHour>)[.. Enumerable.Range(0, 24).Select(i => now - 23 + i)
            .Select(hour => new WebOutcomeHour(DateTimeOffset.FromUnixTimeSeconds(hour * 3600), Sum(hour, "node.converged"), Sum(hour, "node.failed"), Sum(hour, "node.drift-corrected")))],
            WebJsonContext.Default.IReadOnlyListWebOutcomeHour);
    }

    /// <summary>The overview's recent failures and drift, newest first (at most 20), only about nodes the caller sees.</summary>
    private async Task<object?> RecentTroubleAsync(HttpContext context, WebCaller caller)
    {
        var sees = await VisibleAsync(caller, context.RequestAborted);
        var recent = new List<EventRecord>();
        foreach (var kind in TroubleKinds)
        {
            recent.AddRange(await store.Events.ListAsync(new EventQuery { Kind = kind, Limit = 20 }, context.RequestAborted));
        }
        IReadOnlyList<WebEvent> newest = [.. recent.Where(e => e.Node.Length == 0 || (sees?.Invoke(e.Node) ?? true))
            .OrderByDescending(e => e.At).ThenByDescending(e => e.Id).Take(20).Select(ToWeb)];
        return Json(newest, WebJsonContext.Default.IReadOnlyListWebEvent);
    }

    /// <summary>
    /// The event log's page: newest first, at most 200, filtered by kind (or area), node, actor and age (<c>since</c>, a duration
    /// such as 1h); only about nodes the caller sees.
    /// </summary>
    private async Task<object?> EventLogAsync(HttpContext context, WebCaller caller)
    {
        var query = context.Request.Query;
        TimeSpan? since = null;
        if (query["since"].ToString() is { Length: > 0 } text)
        {
            since = Shared.Cli.Durations.TryParse(text, "since", out var age, out var error) ? age : throw new WebRequestException(HttpStatusCode.BadRequest, error!);
        }
        var sees = await VisibleAsync(caller, context.RequestAborted);
        string? Filter(string key) => query[key].ToString() is { Length: > 0 } value ? value : null;
        var events = await store.Events.ListAsync(new EventQuery
        {
            Kind = Filter("kind"), Node = Filter("node"), Actor = Filter("actor"), Limit = 200,
            Since = DateTimeOffset.UtcNow - since,
        }, context.RequestAborted);
        IReadOnlyList<WebEvent> shown = [.. events.Where(e => e.Node.Length == 0 || (sees?.Invoke(e.Node) ?? true)).OrderByDescending(e => e.Id).Select(ToWeb)];
        return Json(shown, WebJsonContext.Default.IReadOnlyListWebEvent);
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

    private async Task<object?> RolloutAsync(HttpContext context, WebCaller caller)
    {
        var id = RouteNumber(context, "id");
        var rollout = await store.Rollouts.GetAsync(id, context.RequestAborted) ?? throw new WebRequestException(HttpStatusCode.NotFound, $"no rollout {id}");
        return Json(ToWeb(rollout, await VisibleAsync(caller, context.RequestAborted)), WebJsonContext.Default.WebRollout);
    }

    private async Task<object?> StartRolloutAsync(HttpContext context, WebCaller caller)
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
        RefuseBeyondScope(context, caller, "POST /api/v1/rollouts", await scoped.RolloutStartAsync(caller.Operator, request.Revision, context.RequestAborted));
        var rollout = await rollouts.StartAsync(request.Revision, settings, caller.Actor, context.RequestAborted);
        return Json(ToWeb(rollout), WebJsonContext.Default.WebRollout, StatusCodes.Status201Created);
    }

    private async Task<object?> ControlRolloutAsync(HttpContext context, WebCaller caller)
    {
        var id = RouteNumber(context, "id");
        RefuseBeyondScope(context, caller, "POST /api/v1/rollouts/{id}/{action}", await scoped.RolloutControlAsync(caller.Operator, id, context.RequestAborted));
        var rollout = await rollouts.ControlAsync(id, (string)context.GetRouteValue("action")!, caller.Actor, context.RequestAborted);
        return Json(ToWeb(rollout), WebJsonContext.Default.WebRollout);
    }

    private async Task<List<WebCertificate>> CertificatesAsync(WebCaller caller, CancellationToken cancellationToken)
    {
        var certificates = await CertificatesApi.ListAsync(store, renewer, cancellationToken);
        if (await VisibleAsync(caller, cancellationToken) is { } sees)
        {
            // As in hawserctl: a scoped caller sees the certificates of its nodes, and of those only its nodes.
            certificates = [.. certificates.Where(c => c.Nodes.Any(sees)).Select(c => CertificatesApi.Visible(c, sees))];
        }
        return [.. certificates.Select(ToWeb)];
    }

    private static WebCertificate ToWeb(Certificate c) => new(c.Name, [.. c.Domains], [.. c.Nodes], c.Serial.Length > 0 ? c.Serial : null,
        c.NotAfter?.ToDateTimeOffset(), c.RenewAt?.ToDateTimeOffset(), c.LastError.Length > 0 ? c.LastError : null, new Dictionary<string, string>(c.Installed),
        c.Nodes.ToDictionary(n => n, n => CertificateNodeWords.Of(c, n), StringComparer.Ordinal), new Dictionary<string, string>(c.NodeErrors),
        c.Issuer.Length > 0 ? c.Issuer : null);

    private async Task<object?> RenewAsync(HttpContext context, WebCaller caller)
    {
        var name = (string)context.GetRouteValue("name")!;
        RefuseBeyondScope(context, caller, "POST /api/v1/certificates/{name}/renew", await scoped.RenewAsync(caller.Operator, name, context.RequestAborted));
        var (target, issued) = await renewer.RenewAsync(name, null, context.RequestAborted);
        return Json(ToWeb(await CertificatesApi.DescribeAsync(store, target, issued, context.RequestAborted)), WebJsonContext.Default.WebCertificate);
    }

    /// <summary>With a <paramref name="problem"/> (a change beyond a scoped caller's nodes): recorded as a refusal, then answered 403.</summary>
    private void RefuseBeyondScope(HttpContext context, WebCaller caller, string route, string? problem)
    {
        if (problem is null)
        {
            return;
        }
        refusals.WebRefused(route, WebAuthentication.AddressOf(context).ToString(), problem, caller.Actor);
        throw new WebRequestException(HttpStatusCode.Forbidden, problem);
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
