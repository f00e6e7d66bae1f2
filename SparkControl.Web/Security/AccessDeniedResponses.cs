using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace SparkControl.Web.Security;

/// <summary>
/// A refused call says why in the caller's language: OpenAI's error object on <c>/v1</c> (SDKs show its message),
/// problem details on <c>/api</c>; pages get the sign-in redirect.
/// </summary>
public sealed class AccessDeniedResponses : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult result)
    {
        if (result.Succeeded || !(context.Request.Path.StartsWithSegments("/v1") || context.Request.Path.StartsWithSegments("/api")))
        {
            await _default.HandleAsync(next, context, policy, result);
            return;
        }

        var signedIn = context.User.Identity?.IsAuthenticated == true;
        var status = result.Forbidden && signedIn ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized;
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        if (context.Request.Path.StartsWithSegments("/v1"))
        {
            var message = status == StatusCodes.Status401Unauthorized
                ? "This gateway needs a client key: send it as the bearer token (the OpenAI SDK's api_key). An admin creates one on the Access page."
                : "This key may not use the gateway.";
            await context.Response.WriteAsJsonAsync(new { error = new { message, type = "authentication_error", param = (string?)null, code = status == 401 ? "invalid_api_key" : "forbidden" } });
            return;
        }

        var role = RequiredRole(context);
        var detail = status == StatusCodes.Status401Unauthorized
            ? "Sign in, or send an API key as Authorization: Bearer <key>."
            : $"{AccessPolicies.ActorOf(context.User)} ({AccessPolicies.RoleOf(context.User)?.ToString().ToLowerInvariant() ?? "no role"}) may not do this{(role is null ? string.Empty : $": it needs the {role} role")}.";
        await Results.Problem(detail: detail, statusCode: status, title: status == 401 ? "Sign-in required" : "Not allowed").ExecuteAsync(context);
    }

    private static string? RequiredRole(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).LastOrDefault(p => p is AccessPolicies.Viewer or AccessPolicies.Operator or AccessPolicies.Admin);
}
