using System.Globalization;
using Microsoft.AspNetCore.Components;
using SparkControl.Core.Gpu;

namespace SparkControl.Web.Components.Controls;

public partial class SparkGpuFigures
{
    /// <summary>The Spark whose samples and unified memory to show.</summary>
    [Parameter, EditorRequired]
    public required string Spark { get; set; }

    [Inject]
    public required GpuBusyTracker Tracker { get; init; }

    /// <summary>The Spark's state as last rendered; null before its first sample.</summary>
    private SparkGpuState? _state;

    protected override void OnInitialized() => Watch(Tracker.WatchAsync, update => Show(update.Value));

    /// <summary>A sample for the other Spark leaves this one's state as it was: no render then.</summary>
    protected override void OnParametersSet() => Show(Tracker.Current.Value);

    private bool Show(GpuFleetState fleet)
    {
        var next = fleet.Find(Spark);
        if (ReferenceEquals(next, _state))
        {
            return false;
        }

        _state = next;
        return true;
    }

    private string Utilization => _state?.Latest?.UtilizationPercent is { } percent ? $"{percent.ToString("0", CultureInfo.InvariantCulture)} %" : "–";

    private double MemoryPercent => GpuSparkPanel.UsedPercent(_state?.Memory);
}
