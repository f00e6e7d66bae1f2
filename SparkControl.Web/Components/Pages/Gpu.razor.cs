using Microsoft.AspNetCore.Components;
using SparkControl.Core.Gpu;
using SparkControl.Web.Model;

namespace SparkControl.Web.Components.Pages;

public partial class Gpu
{
    private GpuFleetState _state = GpuFleetState.Empty;
    private GpuLedgerFigures? _figures;
    private LedgerPeriod _period = LedgerPeriod.Week;
    private long _figuresVersion = -1;

    [Inject]
    public required GpuBusyTracker Tracker { get; init; }

    [Inject]
    public required TimeProvider Time { get; init; }

    protected override void OnInitialized() => Watch(Tracker.WatchAsync, update =>
    {
        var sparksChanged = !_state.Sparks.Select(s => s.Spark).SequenceEqual(update.Value.Sparks.Select(s => s.Spark));
        _state = update.Value;
        // Samples arrive every second; the ledger's figures change only when the tracker says so (each flush).
        if (sparksChanged || _state.LedgerVersion != _figuresVersion)
        {
            LoadFigures();
        }
    });

    private void ChangePeriod(LedgerPeriod period)
    {
        _period = period;
        LoadFigures();
    }

    private void LoadFigures()
    {
        _figuresVersion = _state.LedgerVersion;
        _figures = GpuLedgerFigures.Load(Tracker, _state.Sparks.Select(s => s.Spark), Time.GetUtcNow(), _period);
    }
}
