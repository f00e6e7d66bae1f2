using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Sparks;

namespace SparkControl.Web.Components.Layout;

public partial class MainLayout
{
    private static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight { Primary = "#2e7d32", Secondary = "#00838f", AppbarBackground = "#1b5e20" },
        PaletteDark = new PaletteDark { Primary = "#81c784", Secondary = "#4dd0e1" },
    };

    private bool _drawerOpen = true;
    private bool _darkMode;

    [Inject]
    public required SparkFleet Fleet { get; init; }

    private bool IsDemo => Fleet.Current.IsDemo;

    private void ToggleDrawer() => _drawerOpen = !_drawerOpen;

    private void ToggleDarkMode() => _darkMode = !_darkMode;
}
