using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Sparks;

namespace SparkControl.Web.Components.Layout;

public partial class MainLayout : IAsyncDisposable
{
    // Every status colour meets WCAG AA (4.5:1) both as a chip's fill under its contrast text and as text or an outline
    // on the page: MudBlazor's defaults (#00c853 success, #ff9800 warning) gave white text 2.2:1. Dark mode's light
    // fills take dark text.
    private const string DarkText = "#1b1b1b";

    private static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#276b2b", Secondary = "#00727c", AppbarBackground = "#1b5e20",
            Success = "#276b2b", Warning = "#a84300", Error = "#c62828", Info = "#1565c0",
        },
        PaletteDark = new PaletteDark
        {
            Primary = "#81c784", PrimaryContrastText = DarkText, Secondary = "#4dd0e1", SecondaryContrastText = DarkText,
            Success = "#66bb6a", SuccessContrastText = DarkText, Warning = "#ffb74d", WarningContrastText = DarkText,
            Error = "#ef9a9a", ErrorContrastText = DarkText, Info = "#90caf9", InfoContrastText = DarkText, TextSecondary = "#b4b4ba",
        },
    };

    private readonly CancellationTokenSource _cts = new();
    private bool _drawerOpen = true;
    private bool _darkMode;
    private bool _isDemo;
    private Task? _watch;

    [Inject]
    public required SparkFleet Fleet { get; init; }

    [Inject]
    public required SparkControl.Web.Security.Caller Caller { get; init; }

    private bool IsDemo => _isDemo;

    protected override void OnInitialized()
    {
        _isDemo = Fleet.Current.IsDemo;
        _watch = WatchFleetAsync(_cts.Token);
    }

    /// <summary>The Demo badge follows the fleet: adding the first real Spark ends demo mode on every page at once.</summary>
    private async Task WatchFleetAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var update in Fleet.Stream.WatchAsync(cancellationToken))
            {
                if (update.Value.IsDemo != _isDemo)
                {
                    await InvokeAsync(() =>
                    {
                        _isDemo = update.Value.IsDemo;
                        StateHasChanged();
                    });
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        if (_watch is not null)
        {
            await _watch;
        }

        _cts.Dispose();
        GC.SuppressFinalize(this);
    }

    private void ToggleDrawer() => _drawerOpen = !_drawerOpen;

    private void ToggleDarkMode() => _darkMode = !_darkMode;
}
