using SparkControl.Core.Access;
using SparkControl.Web.Security;

namespace SparkControl.Web.Gateway;

/// <summary>
/// The gateway's forwarding routes (chat, completions, embeddings) served ahead of the panel's general pipeline.
/// Profiled under load, that pipeline (the authentication handlers, the authorization policy, the setup gate, the API
/// audit, the endpoint's service scope) cost the gateway more CPU per request than YARP's own forwarding.
/// </summary>
/// <remarks>
/// It serves only what the general pipeline would hand to the same forwarder: a POST to one of the three routes, from
/// no other origin (<see cref="CrossSiteProtection.Foreign"/>), on a panel that is set up, from a caller
/// <see cref="AccessPolicies.GatewayAllows"/> admits. Everything else (a refusal to write, a sign-in cookie to validate,
/// another method or route) goes on to the general pipeline, which answers it as it always has. The routes stay mapped
/// there with the gateway's policy, so what the panel declares for <c>/v1</c> is the rule this class enforces.
/// </remarks>
public sealed class GatewayFastPath(RequestDelegate next, GatewayForwarder forwarder, AccessMode mode, SetupToken setup, ApiKeyRegistry keys)
{
    public Task InvokeAsync(HttpContext context) =>
        RouteOf(context.Request) is { } route && Admits(context.Request) ? forwarder.ForwardAsync(context, route) : next(context);

    /// <summary>The forwarding route a request is for, as <see cref="GatewayEndpoints.MapGateway"/> maps them; null for any other.</summary>
    public static GatewayRoute? RouteOf(HttpRequest request)
    {
        if (!HttpMethods.IsPost(request.Method))
        {
            return null;
        }

        var path = request.Path.Value;
        return path switch
        {
            _ when string.Equals(path, GatewayEndpoints.ChatPath, StringComparison.OrdinalIgnoreCase) => GatewayRoute.Chat,
            _ when string.Equals(path, GatewayEndpoints.CompletionsPath, StringComparison.OrdinalIgnoreCase) => GatewayRoute.Completions,
            _ when string.Equals(path, GatewayEndpoints.EmbeddingsPath, StringComparison.OrdinalIgnoreCase) => GatewayRoute.Embeddings,
            _ => null,
        };
    }

    private bool Admits(HttpRequest request)
    {
        if ((setup.IsNeeded && mode.SignInRequired) || CrossSiteProtection.Foreign(request) is not null)
        {
            return false;
        }

        if (PanelAuthentication.BearerOf(request) is { } secret)
        {
            // Verified even where no key is needed, as the key's authentication handler does: the key's last use is kept.
            return AccessPolicies.GatewayAllows(mode, proven: keys.Verify(secret) is not null);
        }

        // A sign-in cookie is the cookie handler's to validate (and to renew); the general pipeline has it. (The raw header
        // first: most clients send no cookie, and parsing them is a cost on every request.)
        return (request.Headers.Cookie.Count == 0 || !request.Cookies.ContainsKey(PanelAuthentication.CookieName))
            && AccessPolicies.GatewayAllows(mode, proven: false);
    }
}
