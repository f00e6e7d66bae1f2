using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// The one bUnit context for component tests: MudBlazor's services, loose JS interop, and an admin as the caller
/// (<see cref="SignInAs"/> changes the role).
/// </summary>
public abstract class UiTestContext : BunitContext, IAsyncLifetime
{
    /// <summary>
    /// bUnit waits one second by default; the suite runs on a loaded two-core machine, where a render that is next in
    /// line can take longer. Waits end as soon as their condition holds, so a long limit costs nothing when green.
    /// </summary>
    static UiTestContext() => DefaultWaitTimeout = TimeSpan.FromSeconds(15);

    protected UiTestContext()
    {
        Services.AddMudServices();
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddScoped<SparkControl.Web.Security.Caller>();
        SignInAs("admin");
    }

    /// <summary>The caller of the components rendered next: a signed-in user with <paramref name="role"/>.</summary>
    protected void SignInAs(string role)
    {
        var authorization = AddAuthorization();
        authorization.SetAuthorized($"test-{role}");
        authorization.SetRoles(role);
        authorization.SetClaims(new System.Security.Claims.Claim(SparkControl.Web.Security.AccessPolicies.ViaClaim, "cookie"));
    }

    /// <summary>Renders MudBlazor's popover provider, which tooltips, menus and dialogs need.</summary>
    protected void RenderPopoverProvider() => Render<MudBlazor.MudPopoverProvider>();

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>MudBlazor's services are only async-disposable; xunit v2 disposes synchronously unless asked like this.</summary>
    async Task IAsyncLifetime.DisposeAsync() => await DisposeAsync();
}
