using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using SparkControl.Core.Access;

namespace SparkControl.Web.Security;

/// <summary>The policies every endpoint and page declares: one per role, the gateway's client keys, and /metrics.</summary>
public static class AccessPolicies
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";

    /// <summary><c>/v1</c>: a client key when <c>Gateway:RequireKey</c> holds, otherwise anyone who reaches it.</summary>
    public const string Gateway = "gateway";

    /// <summary><c>/metrics</c>: a key (or user) with the viewer role, or a caller from <c>Security:MetricsNetworks</c>.</summary>
    public const string Metrics = "metrics";

    public const string RoleClaim = ClaimTypes.Role;

    /// <summary>How the caller proved who they are: <c>cookie</c>, <c>key</c> or <c>open</c> (no sign-in needed here).</summary>
    public const string ViaClaim = "sc:via";

    public const string KeyIdClaim = "sc:key";
    public const string KeyKindClaim = "sc:kind";

    public static AccessRole? RoleOf(ClaimsPrincipal user) =>
        user.Identity?.IsAuthenticated == true ? AccessRoles.Parse(user.FindFirst(RoleClaim)?.Value) : null;

    public static bool Allows(ClaimsPrincipal user, AccessRole required) => RoleOf(user) >= required;

    /// <summary>
    /// The <see cref="Gateway"/> rule, one for the policy and the gateway's own fast path: a caller who proved who they
    /// are (a key or a sign-in) when <c>Gateway:RequireKey</c> holds, otherwise anyone.
    /// </summary>
    public static bool GatewayAllows(AccessMode mode, bool proven) => !mode.GatewayKeyRequired || proven;

    /// <summary>The name audit entries carry: the user's, or <c>key:name</c> for an API key.</summary>
    public static string ActorOf(ClaimsPrincipal user) => user.FindFirst(ViaClaim)?.Value == "key"
        ? $"key:{user.Identity?.Name}"
        : user.Identity?.Name ?? "anonymous";

    /// <summary>The caller of an HTTP request as the audit log records them.</summary>
    public static Core.Audit.AuditActor AuditActorOf(HttpContext context) => new(ActorOf(context.User), context.Connection.RemoteIpAddress?.ToString());

    public static AuthorizationBuilder AddAccessPolicies(this IServiceCollection services)
    {
        var builder = services.AddAuthorizationBuilder();
        builder.AddPolicy(Viewer, p => p.RequireAssertion(c => Allows(c.User, AccessRole.Viewer)));
        builder.AddPolicy(Operator, p => p.RequireAssertion(c => Allows(c.User, AccessRole.Operator)));
        builder.AddPolicy(Admin, p => p.RequireAssertion(c => Allows(c.User, AccessRole.Admin)));
        builder.AddPolicy(Gateway, p => p.AddRequirements(new GatewayRequirement()));
        builder.AddPolicy(Metrics, p => p.AddRequirements(new MetricsRequirement()));
        // An endpoint that declares nothing still needs a signed-in viewer; the endpoint test makes every one declare.
        builder.SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAssertion(c => Allows(c.User, AccessRole.Viewer)).Build());
        services.AddSingleton<IAuthorizationHandler, GatewayRequirementHandler>();
        services.AddSingleton<IAuthorizationHandler, MetricsRequirementHandler>();
        return builder;
    }

    private sealed class GatewayRequirement : IAuthorizationRequirement;

    private sealed class MetricsRequirement : IAuthorizationRequirement;

    private sealed class GatewayRequirementHandler(AccessMode mode) : AuthorizationHandler<GatewayRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, GatewayRequirement requirement)
        {
            if (GatewayAllows(mode, proven: context.User.FindFirst(ViaClaim)?.Value is "key" or "cookie"))
            {
                context.Succeed(requirement);
            }

            return Task.CompletedTask;
        }
    }

    private sealed class MetricsRequirementHandler(IOptionsMonitor<SecurityOptions> security) : AuthorizationHandler<MetricsRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, MetricsRequirement requirement)
        {
            var remote = (context.Resource as HttpContext)?.Connection.RemoteIpAddress;
            if (Allows(context.User, AccessRole.Viewer) || (remote is not null && InNetworks(remote, security.CurrentValue.MetricsNetworks)))
            {
                context.Succeed(requirement);
            }

            return Task.CompletedTask;
        }

        private static bool InNetworks(IPAddress address, string[] networks)
        {
            var mapped = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
            return networks.Any(n => IPNetwork.TryParse(n, out var network) && network.Contains(mapped));
        }
    }
}
