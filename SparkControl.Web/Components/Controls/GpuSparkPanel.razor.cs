using System.Globalization;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Gpu;
using SparkControl.Core.Swaps;
using SparkControl.Core.Units;
using SparkControl.Web.Model;

namespace SparkControl.Web.Components.Controls;

/// <summary>One Spark on the GPU page: live utilization, memory, busy shares, the hourly chart and the ledger by model.</summary>
public partial class GpuSparkPanel
{
    private readonly BarChartOptions _chartOptions = new()
    {
        ShowLegend = false,
        YAxisSuggestedMax = 100,
        YAxisTicks = 25,
        YAxisFormat = "0'%'",
        XAxisLabelRotation = 0,
        BarWidthRatio = 0.7,
        // The theme's primary green in both modes; an SVG fill attribute cannot take the theme's CSS variable.
        ChartPalette = ["#43a047"],
    };

    private List<ChartSeries<double>> _hourlySeries = [];
    private string[] _hourLabels = [];

    [Parameter, EditorRequired]
    public required SparkGpuState Value { get; set; }

    /// <summary>The ledger figures of this Spark; null until first read.</summary>
    [Parameter]
    public SparkLedgerFigures? Figures { get; set; }

    [Parameter]
    public LedgerPeriod Period { get; set; }

    protected override void OnParametersSet()
    {
        var hours = Figures?.Hours ?? [];
        // Every third hour is labelled, so 24 labels stay readable on a narrow card.
        _hourLabels = [.. hours.Select((h, i) => i % 3 == 0 ? h.Hour.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture) : string.Empty)];
        _hourlySeries = [new ChartSeries<double> { Name = "Busy %", Data = new ChartData<double>([.. hours.Select(h => Math.Round((h.BusyRatio ?? 0) * 100, 1))]) }];
    }

    private IEnumerable<(string Label, double? Ratio, string Id)> BusyTiles =>
    [
        ("last hour", Figures?.BusyLastHour, "busy-hour"),
        ("last day", Figures?.BusyLastDay, "busy-day"),
        ("last week", Figures?.BusyLastWeek, "busy-week"),
    ];

    private string SparklineSpan => Value.Recent.Length < 2 ? "moment" : LedgerFormat.Duration((Value.Recent[^1].Timestamp - Value.Recent[0].Timestamp).TotalSeconds);

    private string UtilizationText => Value.Latest?.UtilizationPercent is { } u ? u.ToString("0", CultureInfo.InvariantCulture) : "–";

    private string PeriodText => Period switch
    {
        LedgerPeriod.Day => "last 24 hours",
        LedgerPeriod.Week => "last 7 days",
        _ => "all time",
    };

    private string ActivityText => Value.Activity.State switch
    {
        ModelActivityState.Loaded => Value.Activity.Model!,
        ModelActivityState.Loading => $"loading {Value.Activity.Model}",
        ModelActivityState.NoModel => "no model",
        _ => "model not known yet",
    };

    private Color ActivityColor => Value.Activity.State switch
    {
        ModelActivityState.Loaded => Color.Success,
        ModelActivityState.Loading => Color.Info,
        _ => Color.Default,
    };

    private string StreamText => Value.Status switch
    {
        GpuStreamStatus.Streaming => "live",
        GpuStreamStatus.Connecting => "connecting",
        _ => "interrupted",
    };

    private Color StreamColor => Value.Status switch
    {
        GpuStreamStatus.Streaming => Color.Success,
        GpuStreamStatus.Connecting => Color.Default,
        _ => Color.Warning,
    };

    private string StreamIcon => Value.Status == GpuStreamStatus.Streaming ? Icons.Material.Filled.FiberManualRecord : Icons.Material.Filled.SyncProblem;

    /// <summary>"28.6 of 121.7 GiB": the GPU page and the Dashboard's Spark cards write unified memory alike.</summary>
    public static string MemoryText(Core.Hosts.MemoryInfo? memory) => memory is { } m
        ? $"{ByteSize.GiBNumber(MemoryBudget.ToGiB(m.UsedBytes))} of {ByteSize.HumanBinary(m.TotalBytes)}"
        : "–";

    private double MemoryPercent => UsedPercent(Value.Memory);

    /// <summary>How full unified memory is, 0 before the first reading.</summary>
    public static double UsedPercent(Core.Hosts.MemoryInfo? memory) => memory is { TotalBytes: > 0 } m ? 100.0 * m.UsedBytes / m.TotalBytes : 0;

    public static Color MemoryColor(double percent) => percent switch
    {
        >= 95 => Color.Error,
        >= 85 => Color.Warning,
        _ => Color.Primary,
    };

    private static string Number(double? value, string format, string unit) =>
        value is { } v ? $"{v.ToString(format, CultureInfo.InvariantCulture)} {unit}" : "–";
}
