using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace SparkControl.Tests.Infrastructure;

/// <summary>The one bUnit context for component tests: MudBlazor's services and loose JS interop.</summary>
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
    }

    /// <summary>Renders MudBlazor's popover provider, which tooltips, menus and dialogs need.</summary>
    protected void RenderPopoverProvider() => Render<MudBlazor.MudPopoverProvider>();

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>MudBlazor's services are only async-disposable; xunit v2 disposes synchronously unless asked like this.</summary>
    async Task IAsyncLifetime.DisposeAsync() => await DisposeAsync();
}
