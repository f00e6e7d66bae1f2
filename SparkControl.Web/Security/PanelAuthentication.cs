using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using SparkControl.Core.Access;

namespace SparkControl.Web.Security;

/// <summary>
/// Who is calling: a cookie from the sign-in page, an API key (<c>Authorization: Bearer sck_…</c>, or
/// <c>?access_token=</c> on <c>/hubs</c> for SignalR clients), or, where the panel is open, the local admin.
/// </summary>
public static class PanelAuthentication
{
    public const string Scheme = "SparkControl";
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;
    public const string KeyScheme = "ApiKey";
    public const string OpenScheme = "Open";
    public const string CookieName = ".SparkControl.Auth";

    /// <summary>Paths answered with 401/403 instead of a redirect to the sign-in page.</summary>
    public static bool IsMachinePath(PathString path) =>
        path.StartsWithSegments("/api") || path.StartsWithSegments("/v1") || path.StartsWithSegments("/hubs")
        || path.StartsWithSegments("/_blazor") || path.StartsWithSegments("/metrics") || path.StartsWithSegments("/account");

    public static AuthenticationBuilder AddPanelAuthentication(this IServiceCollection services)
    {
        services.AddSingleton<AccessMode>();
        var builder = services.AddAuthentication(Scheme);
        builder.AddPolicyScheme(Scheme, "Spark Control", o => o.ForwardDefaultSelector = SelectScheme);
        builder.AddCookie(CookieScheme, o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.LoginPath = "/signin";
            o.AccessDeniedPath = "/not-found";
            o.ExpireTimeSpan = TimeSpan.FromDays(7);
            o.SlidingExpiration = true;
            o.Events = new CookieAuthenticationEvents
            {
                OnValidatePrincipal = ValidateCookieAsync,
                OnRedirectToLogin = context => RedirectOrStatus(context, StatusCodes.Status401Unauthorized),
                OnRedirectToAccessDenied = context => RedirectOrStatus(context, StatusCodes.Status403Forbidden),
            };
        });
        builder.AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(KeyScheme, null);
        builder.AddScheme<AuthenticationSchemeOptions, OpenHandler>(OpenScheme, null);
        return builder;
    }

    public static ClaimsPrincipal Principal(string name, AccessRole? role, string via, string scheme, ApiKeyInfo? key = null)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name), new(AccessPolicies.ViaClaim, via) };
        if (role is { } r)
        {
            claims.Add(new Claim(AccessPolicies.RoleClaim, r.Name()));
        }

        if (key is not null)
        {
            claims.Add(new Claim(AccessPolicies.KeyIdClaim, key.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            claims.Add(new Claim(AccessPolicies.KeyKindClaim, key.Kind == ApiKeyKind.Gateway ? "gateway" : "api"));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme, ClaimTypes.Name, AccessPolicies.RoleClaim));
    }

    /// <summary>The key in <c>Authorization: Bearer …</c>, or null when the request carries none.</summary>
    public static string? BearerOf(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
    }

    /// <summary>Whether the request carries the sign-in cookie (the raw header first: parsing cookies costs every request).</summary>
    public static bool HasSignInCookie(HttpRequest request) => request.Headers.Cookie.Count > 0 && request.Cookies.ContainsKey(CookieName);

    /// <summary>What a request offers to prove who sent it, and the scheme that judges it.</summary>
    /// <param name="Scheme">A key's, the sign-in cookie's, or the open panel's.</param>
    /// <param name="Key">The key's secret, for the key scheme.</param>
    /// <param name="SignInCookie">Whether it carries the sign-in cookie (the cookie scheme then has one to validate).</param>
    public readonly record struct Proof(string Scheme, string? Key, bool SignInCookie);

    /// <summary>What <paramref name="request"/> offers as proof; read once, for the scheme selector and the gateway's fast path alike.</summary>
    public static Proof ProofOf(HttpRequest request, AccessMode mode)
    {
        if (BearerOf(request) is { } bearer)
        {
            return new(KeyScheme, bearer, false);
        }

        if (request.Path.StartsWithSegments("/hubs") && request.Query.TryGetValue("access_token", out var token))
        {
            return new(KeyScheme, token.ToString(), false);
        }

        var cookie = HasSignInCookie(request);
        return new(cookie || mode.SignInRequired ? CookieScheme : OpenScheme, null, cookie);
    }

    private static string SelectScheme(HttpContext context) => ProofOf(context.Request, context.RequestServices.GetRequiredService<AccessMode>()).Scheme;

    /// <summary>A disabled or removed user is signed out at once; a changed role takes effect on the next request.</summary>
    private static Task ValidateCookieAsync(CookieValidatePrincipalContext context)
    {
        var users = context.HttpContext.RequestServices.GetRequiredService<UserDirectory>();
        var name = context.Principal?.Identity?.Name;
        if (name is null || users.Find(name) is not { Disabled: false } user)
        {
            context.RejectPrincipal();
            return context.HttpContext.SignOutAsync(CookieScheme);
        }

        if (AccessPolicies.RoleOf(context.Principal!) != user.Role)
        {
            context.ReplacePrincipal(Principal(user.Name, user.Role, "cookie", CookieScheme));
            context.ShouldRenew = true;
        }

        return Task.CompletedTask;
    }

    private static Task RedirectOrStatus(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        if (IsMachinePath(context.Request.Path))
        {
            context.Response.StatusCode = status;
            return Task.CompletedTask;
        }

        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    private sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyRegistry keys)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var secret = BearerOf(Request) ?? Request.Query["access_token"].ToString();
            if (keys.Verify(secret) is not { } key)
            {
                return Task.FromResult(AuthenticateResult.Fail("The API key is unknown or revoked."));
            }

            var principal = Principal(key.Name, key.Role, "key", KeyScheme, key);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, KeyScheme)));
        }

        protected override Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Response.Headers.WWWAuthenticate = "Bearer";
            return Task.CompletedTask;
        }
    }

    /// <summary>Everyone is admin on an open panel (the demo on loopback, or <c>Security:AllowAnonymous</c>), named "anonymous" in the audit log.</summary>
    private sealed class OpenHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AccessMode mode)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(mode.SignInRequired
            ? AuthenticateResult.NoResult()
            : AuthenticateResult.Success(new AuthenticationTicket(Principal("anonymous", AccessRole.Admin, "open", OpenScheme), OpenScheme)));
    }
}
