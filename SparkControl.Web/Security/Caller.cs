using System.Security.Claims;
using Microsoft.AspNetCore.Components.Authorization;
using SparkControl.Core.Access;

namespace SparkControl.Web.Security;

/// <summary>
/// Who acts in this circuit, for the UI: what they may do (buttons hide, a note says why) and what each action checks
/// again before it runs, since a circuit's actions never pass the HTTP authorization an endpoint has.
/// </summary>
public sealed class Caller(AuthenticationStateProvider authentication, Core.Audit.AuditLog? audit = null)
{
    // Blazor Server's provider holds a finished task made from the request that opened the circuit, so this never
    // waits; a task still running (no such provider here) would count as nobody, the side that refuses.
    private ClaimsPrincipal User => authentication.GetAuthenticationStateAsync() is { IsCompletedSuccessfully: true } state ? state.Result.User : new ClaimsPrincipal();

    public string Name => User.Identity?.Name ?? "anonymous";

    /// <summary>The name audit entries carry.</summary>
    public string Actor => AccessPolicies.ActorOf(User);

    /// <summary>The browser's address when the circuit began (set by the router from the first request).</summary>
    public string? Address { get; set; }

    public Core.Audit.AuditActor AuditActor => new(Actor, Address);

    public AccessRole? Role => AccessPolicies.RoleOf(User);

    /// <summary>True for a signed-in user (false where the panel is open and everyone is the local admin).</summary>
    public bool SignedIn => User.FindFirst(AccessPolicies.ViaClaim)?.Value == "cookie";

    public bool May(AccessRole role) => Role >= role;

    public string? WhyNot(AccessRole role) => May(role) ? null : $"needs the {role.Name()} role (you are {Role?.Name() ?? "not signed in"})";

    /// <summary>Records a change made from a page in the audit log, as the API's audit does for requests.</summary>
    public void Audit(string action, string target, string detail = "done from the panel") => audit?.Record(AuditActor, action, target, detail);

    /// <summary>Refuses the action when the caller's role is below <paramref name="role"/>.</summary>
    public void Demand(AccessRole role)
    {
        if (!May(role))
        {
            throw new AccessRefusedException($"This {WhyNot(role)}.");
        }
    }
}
