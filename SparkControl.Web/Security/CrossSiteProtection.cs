namespace SparkControl.Web.Security;

/// <summary>
/// Refuses what another site can make a browser send, in every mode: a state-changing request whose
/// <c>Sec-Fetch-Site</c> or <c>Origin</c> shows another origin, a WebSocket, SignalR or event-stream connection from
/// another origin (a page elsewhere must not hold the panel's feeds open with the operator's cookie),
/// and a state-changing <c>/api</c> request carried by the sign-in cookie without the <see cref="RequestHeader"/> a
/// simple cross-site request cannot send (forms carry an antiforgery token instead).
/// </summary>
public sealed class CrossSiteProtection(RequestDelegate next)
{
    /// <summary>Scripts that use the cookie (not a key) send this header on state-changing <c>/api</c> calls.</summary>
    public const string RequestHeader = "X-SparkControl-Request";

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var changesState = !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method));
        var connects = context.WebSockets.IsWebSocketRequest || request.Path.StartsWithSegments("/_blazor") || request.Path.StartsWithSegments("/hubs")
            || request.Path.StartsWithSegments("/api/events");
        if ((changesState || connects) && Foreign(request) is { } why)
        {
            return RefuseAsync(context, $"Refused a cross-site request: {why}. Spark Control acts only on requests from its own pages or from scripts.");
        }

        if (changesState && request.Path.StartsWithSegments("/api") && PanelAuthentication.HasSignInCookie(request)
            && PanelAuthentication.BearerOf(request) is null
            && !request.Headers.ContainsKey(RequestHeader))
        {
            return RefuseAsync(context, $"A state-changing /api request signed in by cookie must carry the {RequestHeader} header (or use an API key).");
        }

        return next(context);
    }

    /// <summary>Why the request comes from another origin, or null when it does not (or does not say).</summary>
    public static string? Foreign(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0 && site is not ("same-origin" or "none"))
        {
            return $"Sec-Fetch-Site is {site}";
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return null;
        }

        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri))
        {
            return $"Origin '{Core.Validation.Validators.Printable(origin)}' is not this panel";
        }

        var expected = $"{request.Scheme}://{request.Host.Value}";
        return string.Equals(uri.GetLeftPart(UriPartial.Authority), expected, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"Origin {uri.GetLeftPart(UriPartial.Authority)} is not {expected}";
    }

    private static Task RefuseAsync(HttpContext context, string detail)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return Results.Problem(detail: detail, statusCode: StatusCodes.Status403Forbidden, title: "Cross-site request refused").ExecuteAsync(context);
    }
}
