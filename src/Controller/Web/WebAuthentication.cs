using System.Net;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using System.Threading.RateLimiting;
using Hawser.Controller.Pki;
using Hawser.Controller.Store;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hawser.Controller.Web;

/// <summary>
/// The web UI's sign-in, all ASP.NET Core's own: cookie authentication whose tickets live in the store, data-protection keys
/// shared through the store, antiforgery for every state change, a rate limit on logins, and OpenID Connect when
/// <c>--sso</c> names a provider.
/// </summary>
public static class WebAuthentication
{
    /// <summary>The cookie scheme (the default).</summary>
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;

    /// <summary>The OpenID Connect scheme.</summary>
    public const string SsoScheme = "sso";

    /// <summary>Where the identity provider sends the browser back.</summary>
    public const string SsoCallbackPath = "/signin-sso";

    /// <summary>The sign-in cookie's name.</summary>
    public const string CookieName = "hawser_session";

    /// <summary>The rate-limiting policy of the login form.</summary>
    public const string LoginPolicy = "login";

    /// <summary>How long a sign-in lasts.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    /// <summary>Logins one address may try in a burst; then one more each <see cref="LoginRefill"/>.</summary>
    public const int LoginBurst = 5;

    /// <summary>How often one more login may be tried after the burst.</summary>
    public static readonly TimeSpan LoginRefill = TimeSpan.FromSeconds(10);

    private const string ApplicationName = "hawser-controller";

    private static readonly string[] StandardScopes = ["openid", "profile", "email"];

    /// <summary>Registers the sign-in's services; <paramref name="sso"/> null: no single sign-on.</summary>
    public static void AddWebAuthentication(this IServiceCollection services, ControllerStore store, SecretBox secrets, SsoSettings? sso)
    {
        AddKeys(services, store, secrets);
        var authentication = services.AddAuthentication(CookieScheme).AddCookie(CookieScheme, options =>
        {
            options.Cookie.Name = CookieName;
            options.Cookie.HttpOnly = true;
            options.Cookie.SecurePolicy = CookieSecurePolicy.Always;
            // Strict, unless signing in through an identity provider: its redirect back is a cross-site navigation, which a Strict
            // cookie would not follow. Either way every state change needs the antiforgery token.
            options.Cookie.SameSite = sso is null ? SameSiteMode.Strict : SameSiteMode.Lax;
            options.ExpireTimeSpan = Lifetime;
            options.SlidingExpiration = false;
            options.SessionStore = new StoreTicketStore(store);
            // WebApi answers without a sign-in itself (a redirect for pages, 401 for the API).
            options.Events.OnRedirectToLogin = context => Status(context.Response, StatusCodes.Status401Unauthorized);
            options.Events.OnRedirectToAccessDenied = context => Status(context.Response, StatusCodes.Status403Forbidden);
        });
        if (sso is not null)
        {
            authentication.AddOpenIdConnect(SsoScheme, options => Configure(options, sso));
        }
        services.AddAntiforgery(options =>
        {
            options.HeaderName = "X-CSRF-Token";
            options.Cookie.Name = "hawser_csrf";
            options.Cookie.SecurePolicy = CookieSecurePolicy.Always;
            options.Cookie.SameSite = SameSiteMode.Strict;
        });
        services.AddRateLimiter(options =>
        {
            options.AddPolicy(LoginPolicy, context => RateLimitPartition.GetTokenBucketLimiter(AddressOf(context).ToString(), _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = LoginBurst, TokensPerPeriod = 1, ReplenishmentPeriod = LoginRefill, QueueLimit = 0, AutoReplenishment = true,
            }));
            options.OnRejected = (context, cancellationToken) =>
            {
                var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : LoginRefill;
                return new ValueTask(context.HttpContext.RequestServices.GetRequiredService<WebApi>().TooManyLoginsAsync(context.HttpContext, wait));
            };
        });
    }

    /// <summary>The client's address (an IPv4-mapped one as IPv4): what a rate limit counts by.</summary>
    public static IPAddress AddressOf(HttpContext context) =>
        context.Connection.RemoteIpAddress is { IsIPv4MappedToIPv6: true } mapped ? mapped.MapToIPv4() : context.Connection.RemoteIpAddress ?? IPAddress.None;

    /// <summary>
    /// Makes the first data-protection key in a new store (<c>init</c>), so controllers started together share one key from
    /// their first request instead of each making its own.
    /// </summary>
    public static void EnsureKey(ControllerStore store, SecretBox secrets)
    {
        var services = new ServiceCollection();
        AddKeys(services, store, secrets);
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IDataProtectionProvider>().CreateProtector("hawser-init").Protect([0]);
    }

    private static void AddKeys(IServiceCollection services, ControllerStore store, SecretBox secrets)
    {
        services.AddDataProtection().SetApplicationName(ApplicationName);
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(new ConfigureOptions<KeyManagementOptions>(options =>
            options.XmlRepository = new StoreKeyRepository(store, secrets)));
    }

    private static Task Status(HttpResponse response, int status)
    {
        response.StatusCode = status;
        return Task.CompletedTask;
    }

    private static void Configure(OpenIdConnectOptions options, SsoSettings sso)
    {
        options.Authority = sso.Authority.ToString();
        options.ClientId = sso.ClientId;
        options.ClientSecret = sso.ClientSecret;
        options.ResponseType = "code";
        options.UsePkce = true;
        options.CallbackPath = SsoCallbackPath;
        options.SignInScheme = CookieScheme;
        // The provider's claim names as they are (sub, email, groups), not mapped to WS-* URIs.
        options.MapInboundClaims = false;
        options.GetClaimsFromUserInfoEndpoint = true;
        options.SaveTokens = false;
        options.Scope.Clear();
        foreach (var scope in StandardScopes.Concat(sso.Scopes))
        {
            options.Scope.Add(scope);
        }
        options.ClaimActions.MapJsonKey(sso.GroupsClaim, sso.GroupsClaim);
        if (sso.CaFile is { } caFile)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            options.BackchannelHttpHandler = new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
                {
                    // The provider's name must match its certificate; only the chain is judged against caFile instead of the system's roots.
                    if (certificate is null || (errors & ~System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors) != System.Net.Security.SslPolicyErrors.None)
                    {
                        return false;
                    }
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(certificate);
                },
            };
        }
        options.Events.OnTicketReceived = context => context.HttpContext.RequestServices.GetRequiredService<WebApi>().SsoSignedInAsync(context, sso);
        options.Events.OnRemoteFailure = context => context.HttpContext.RequestServices.GetRequiredService<WebApi>().SsoFailedAsync(context);
    }
}
