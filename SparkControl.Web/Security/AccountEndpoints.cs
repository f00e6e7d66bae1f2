using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using SparkControl.Core.Access;
using SparkControl.Core.Audit;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Security;

/// <summary>The sign-in, setup and sign-out forms' targets (plain form posts with an antiforgery token: the cookie is set here).</summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccount(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/account").WithTags("Account").ExcludeFromDescription();
        group.MapPost("/signin", SignInAsync).AllowAnonymous();
        group.MapPost("/setup", SetupAsync).AllowAnonymous();
        group.MapPost("/signout", SignOutAsync).RequireAuthorization(AccessPolicies.Viewer);
        return endpoints;
    }

    private static async Task<IResult> SignInAsync(HttpContext context, [FromForm] string? name, [FromForm] string? password, [FromForm] string? returnUrl, UserDirectory users, AuditLog audit)
    {
        var result = users.SignIn(name, password);
        var address = context.Connection.RemoteIpAddress?.ToString();
        var target = Validators.Printable(name ?? string.Empty);
        var caller = new AuditActor(target, address);
        switch (result.Outcome)
        {
            case SignInOutcome.SignedIn:
                audit.Record(new AuditActor(result.User!.Name, address), "account.signin", result.User.Name, "signed in");
                await context.SignInAsync(PanelAuthentication.CookieScheme, PanelAuthentication.Principal(result.User.Name, result.User.Role, "cookie", PanelAuthentication.CookieScheme));
                return Results.LocalRedirect(IsLocal(returnUrl) ? returnUrl! : "/");
            case SignInOutcome.LockedOut:
                audit.Record(caller, "account.signin", target, $"refused: locked out until {result.LockedUntil:u}");
                return Back(returnUrl, "locked");
            case SignInOutcome.Disabled:
                audit.Record(caller, "account.signin", target, "refused: disabled");
                return Back(returnUrl, "disabled");
            default:
                audit.Record(caller, "account.signin", target, "refused: bad name or password");
                return Back(returnUrl, "bad");
        }
    }

    private static async Task<IResult> SetupAsync(HttpContext context, [FromForm] string? token, [FromForm] string? name, [FromForm] string? password, SetupToken setup, AuditLog audit)
    {
        try
        {
            var admin = setup.Redeem(token, name ?? string.Empty, password ?? string.Empty);
            audit.Record(new AuditActor(admin.Name, context.Connection.RemoteIpAddress?.ToString()), "account.setup", admin.Name, "first admin created");
            await context.SignInAsync(PanelAuthentication.CookieScheme, PanelAuthentication.Principal(admin.Name, admin.Role, "cookie", PanelAuthentication.CookieScheme));
            return Results.LocalRedirect("/");
        }
        catch (ValidationFailedException failed)
        {
            return Results.LocalRedirect($"/setup?error={Uri.EscapeDataString(string.Join(" ", failed.Errors.Select(e => e.Message)))}");
        }
        catch (AccessRefusedException refused)
        {
            return Results.LocalRedirect($"/setup?error={Uri.EscapeDataString(refused.Message)}");
        }
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, AuditLog audit)
    {
        audit.Record(AccessPolicies.AuditActorOf(context), "account.signout", context.User.Identity?.Name ?? "unknown");
        await context.SignOutAsync(PanelAuthentication.CookieScheme);
        return Results.LocalRedirect("/signin");
    }

    private static bool IsLocal(string? url) => !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) && !url.Any(char.IsControl);

    private static IResult Back(string? returnUrl, string error) =>
        Results.LocalRedirect($"/signin?error={error}{(IsLocal(returnUrl) ? $"&ReturnUrl={Uri.EscapeDataString(returnUrl!)}" : string.Empty)}");
}
