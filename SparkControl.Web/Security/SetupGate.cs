using SparkControl.Core.Access;

namespace SparkControl.Web.Security;

/// <summary>
/// While sign-in is required and no user exists, the panel serves only the setup page, its form, static assets and
/// <c>/healthz</c>; everything else points at the setup page (and the setup token is issued).
/// </summary>
public sealed class SetupGate(RequestDelegate next, AccessMode mode, SetupToken setup)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!IsClosed(setup, mode) || Allowed(context.Request.Path))
        {
            await next(context);
            return;
        }

        await setup.EnsureIssuedAsync(context.RequestAborted);
        if (PanelAuthentication.IsMachinePath(context.Request.Path))
        {
            await Results.Problem(
                detail: $"No user exists yet: open /setup in a browser with the setup token (in {setup.FilePath} or the panel's log) to create the admin.",
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Spark Control is not set up yet").ExecuteAsync(context);
            return;
        }

        context.Response.Redirect("/setup");
    }

    /// <summary>Whether the gate holds requests now: sign-in is required and no user exists yet.</summary>
    public static bool IsClosed(SetupToken setup, AccessMode mode) => setup.IsNeeded && mode.SignInRequired;

    private static bool Allowed(PathString path) =>
        path.StartsWithSegments("/setup") || path.StartsWithSegments("/account/setup") || path.StartsWithSegments("/healthz")
        || path.StartsWithSegments("/_framework") || path.StartsWithSegments("/_content") || Path.HasExtension(path.Value);
}
