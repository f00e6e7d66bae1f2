using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server.Circuits;
using SparkControl.Core.Access;

namespace SparkControl.Web.Security;

/// <summary>
/// A circuit keeps the user it started with; this checks them again on every action from the browser. A user who was
/// disabled, whose role changed, or whose key was revoked since, gets the page loaded afresh (where the cookie check
/// signs them out, to the sign-in page, or takes the new role) and the action does not run.
/// </summary>
public sealed class AccessRecheck(AuthenticationStateProvider authentication, UserDirectory users, ApiKeyRegistry keys, AccessMode mode, NavigationManager navigation)
    : CircuitHandler
{
    public override Func<CircuitInboundActivityContext, Task> CreateInboundActivityHandler(Func<CircuitInboundActivityContext, Task> next) => async context =>
    {
        var state = await authentication.GetAuthenticationStateAsync();
        if (StillValid(state.User))
        {
            await next(context);
            return;
        }

        navigation.NavigateTo(navigation.Uri, forceLoad: true);
    };

    private bool StillValid(System.Security.Claims.ClaimsPrincipal user) => user.FindFirst(AccessPolicies.ViaClaim)?.Value switch
    {
        "cookie" => users.Find(user.Identity?.Name ?? string.Empty) is { Disabled: false } current && current.Role == AccessPolicies.RoleOf(user),
        "key" => long.TryParse(user.FindFirst(AccessPolicies.KeyIdClaim)?.Value, out var id) && keys.Find(id) is { IsRevoked: false },
        "open" => !mode.SignInRequired,
        _ => false,
    };
}
