using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Sparks;

namespace SparkControl.Web.Components.Layout;

public partial class MainLayout : IAsyncDisposable
{
    private static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight { Primary = "#2e7d32", Secondary = "#00838f", AppbarBackground = "#1b5e20" },
        PaletteDark = new PaletteDark { Primary = "#81c784", Secondary = "#4dd0e1" },
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
