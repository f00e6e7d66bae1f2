using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace SparkControl.Tests.Infrastructure;

/// <summary>The one bUnit context for component tests: MudBlazor's services and loose JS interop.</summary>
public abstract class UiTestContext : BunitContext
{
    protected UiTestContext()
    {
        Services.AddMudServices();
        JSInterop.Mode = JSRuntimeMode.Loose;
    }

    /// <summary>Renders MudBlazor's popover provider, which tooltips, menus and dialogs need.</summary>
    protected void RenderPopoverProvider() => Render<MudBlazor.MudPopoverProvider>();
}
