using SparkControl.Core.Access;
using SparkControl.Web.Security;

namespace SparkControl.Web.Gateway;

/// <summary>
/// The gateway's forwarding routes (chat, completions, embeddings) served ahead of the panel's general pipeline.
/// Profiled under load, that pipeline (the authentication handlers, the authorization policy, the setup gate, the API
/// audit, the endpoint's service scope) cost the gateway more CPU per request than YARP's own forwarding.
/// </summary>
/// <remarks>
/// It serves only what the general pipeline would hand to the same forwarder, judged by that pipeline's own rules: a
/// POST to one of <see cref="GatewayEndpoints.ForwardingRoutes"/>, from no other origin
/// (<see cref="CrossSiteProtection.Foreign"/>), while <see cref="SetupGate"/> is open, from a caller
/// <see cref="AccessPolicies.GatewayAllows"/> admits as the scheme <see cref="PanelAuthentication.ProofOf"/> picks
/// would prove them. Everything else (a refusal to write, a sign-in cookie to validate, another method or route) goes
/// on to the general pipeline, which answers it as it always has. The routes stay mapped there with the gateway's
/// policy, so what the panel declares for <c>/v1</c> is the rule this class enforces. The one exception is
/// <see cref="GatewayWarmup"/>'s own requests, which only it can send and which go to its canned server.
/// </remarks>
public sealed class GatewayFastPath(RequestDelegate next, GatewayForwarder forwarder, GatewayWarmup warmup, AccessMode mode, SetupToken setup, ApiKeyRegistry keys)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (RouteOf(context.Request) is not { } route)
        {
            return next(context);
        }

        // Judged for the warm-up's requests too, which go to their canned server whatever the answer: so that a
        // client's first requests do not wait for this code's compilation.
        var admitted = Admits(context.Request);
        return warmup.Owns(context) is { } cannedServer ? forwarder.ForwardAsync(context, route, cannedServer)
            : admitted ? forwarder.ForwardAsync(context, route)
            : next(context);
    }

    /// <summary>The forwarding route a request is for; null for any other method or path.</summary>
    public static GatewayRoute? RouteOf(HttpRequest request)
    {
        if (!HttpMethods.IsPost(request.Method) || !request.Path.StartsWithSegments(GatewayEndpoints.Prefix, StringComparison.OrdinalIgnoreCase, out var rest))
        {
            return null;
        }

        foreach (var (path, route) in GatewayEndpoints.ForwardingRoutes)
        {
            if (string.Equals(rest.Value, path, StringComparison.OrdinalIgnoreCase))
            {
                return route;
            }
        }

        return null;
    }

    private bool Admits(HttpRequest request)
    {
        if (SetupGate.IsClosed(setup, mode) || CrossSiteProtection.Foreign(request) is not null)
        {
            return false;
        }

        return PanelAuthentication.ProofOf(request, mode) switch
        {
            // Verified even where no key is needed, as the key's handler does: the key's last use is kept.
            { Scheme: PanelAuthentication.KeyScheme, Key: var key } => AccessPolicies.GatewayAllows(mode, proven: keys.Verify(key) is not null),
            // A sign-in cookie is the cookie handler's to validate (and to renew): the general pipeline has it.
            { SignInCookie: true } => false,
            _ => AccessPolicies.GatewayAllows(mode, proven: false),
        };
    }
}
