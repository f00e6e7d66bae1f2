using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;
using SparkControl.Web.Components.Dialogs;

namespace SparkControl.Web.Components.Pages;

public partial class Dashboard
{
    /// <summary>How long a swap that ended well stays on the dashboard; failures stay until dismissed.</summary>
    private static readonly TimeSpan ShowFinished = TimeSpan.FromMinutes(10);

    private readonly HashSet<string> _dismissed = [];
    private FleetHealth? _health;
    private FleetConfiguration _fleet = FleetConfiguration.Empty;
    private SwapBoard _swaps = SwapBoard.Empty;

    [Inject]
    public required HealthMonitor Health { get; init; }

    [Inject]
    public required SparkFleet Fleet { get; init; }

    [Inject]
    public required SwapOrchestrator Swaps { get; init; }

    [Inject]
    public required TimeProvider Time { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private IReadOnlyList<ServiceLink> LinksOf(ServiceHealth service) =>
        _fleet.ServicesOn(service.Spark).FirstOrDefault(s => string.Equals(s.Name, service.Name, StringComparison.OrdinalIgnoreCase))?.Links ?? [];

    protected override void OnInitialized()
    {
        // Version 0 is the empty snapshot before the first check: keep showing the progress bar until a real one.
        Watch(Health.WatchAsync, update => _health = update.Version == 0 ? _health : update.Value);
        Watch(Fleet.Stream.WatchAsync, update => _fleet = update.Value);
        Watch(Swaps.WatchAsync, update => _swaps = update.Value);
    }

    private SwapStatus? SwapFor(string spark) =>
        _swaps.BySpark.GetValueOrDefault(spark) is { } swap && !_dismissed.Contains(swap.Id)
        && (swap.IsActive || swap.Phase != SwapPhase.Ready || Time.GetUtcNow() - swap.EndedAt < ShowFinished)
            ? swap
            : null;

    private void Dismiss(SwapStatus swap) => _dismissed.Add(swap.Id);

    private async Task CancelAsync(SwapStatus swap)
    {
        if (await ConfirmDialog.AskAsync(Dialogs, $"Cancel swap {swap.Id}?", $"The swap stops in {swap.Phase}; a container it started is removed. {(swap.Phase >= SwapPhase.Stopping ? "The previous model is already stopped: nothing will be serving." : "The current model keeps serving.")}", "Cancel the swap", Color.Error))
        {
            Swaps.Cancel(swap.Id, "operator");
        }
    }

    private async Task UnloadAsync(string spark)
    {
        if (await SwapDialog.AskAsync(Dialogs, null, spark) is { } started)
        {
            Snackbar.Add($"Unloading {spark} (swap {started.Id}).", Severity.Info);
        }
    }
}
