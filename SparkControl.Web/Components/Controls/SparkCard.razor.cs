using System.Globalization;
using Microsoft.AspNetCore.Components;
using SparkControl.Core.Gpu;
using SparkControl.Core.Services;
using SparkControl.Web;

namespace SparkControl.Web.Components.Controls;

public partial class SparkCard
{
    [Parameter, EditorRequired]
    public required SparkHealth Value { get; set; }

    /// <summary>The loaded model's idle unload, when its catalog entry has an idle time.</summary>
    [Parameter]
    public Core.Operations.IdleState? Idle { get; set; }

    /// <summary>The Spark's GPU samples and unified memory, as the GPU page shows them; null before the first.</summary>
    [Parameter]
    public SparkGpuState? Gpu { get; set; }

    /// <summary>Unloads the Spark's model (after the operator confirms).</summary>
    [Parameter]
    public EventCallback<string> OnUnload { get; set; }

    private string ReachabilityText => Value.Reachability switch
    {
        Reachability.Reachable => $"reachable · checked {Value.CheckedAt:HH:mm:ss} UTC",
        Reachability.Unreachable => Value.Error?.Contains("unreachable", StringComparison.OrdinalIgnoreCase) == true ? Value.Error : $"unreachable: {Value.Error}",
        _ => "checking…",
    };

    private string ServiceSummary => Value.Services.IsEmpty
        ? "No services configured."
        : string.Join(", ", Value.Services.GroupBy(s => s.Status).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}"));

    private string IdleText => Idle switch
    {
        null => string.Empty,
        { InFlight: > 0 } idle => $"Unloads after {FormatIdle(idle.After)} unused · in use now",
        var idle => $"Unloads after {FormatIdle(idle.After)} unused · unused for {SwapStepper.Format(idle.IdleFor)}",
    };

    /// <summary>An idle time as it was set: "45 min", "1 h 30 min", "90 s", never "45 min 0 s".</summary>
    public static string FormatIdle(TimeSpan after) => after switch
    {
        { TotalSeconds: < 120 } => $"{(int)after.TotalSeconds} s",
        { Seconds: not 0 } => $"{(int)after.TotalMinutes} min {after.Seconds} s",
        { TotalMinutes: < 120 } => $"{(int)after.TotalMinutes} min",
        { Minutes: 0 } => $"{(int)after.TotalHours} h",
        _ => $"{(int)after.TotalHours} h {after.Minutes} min",
    };

    private string Utilization => Gpu?.Latest?.UtilizationPercent is { } percent ? $"{percent.ToString("0", CultureInfo.InvariantCulture)} %" : "–";

    private double MemoryPercent => Gpu?.Memory is { TotalBytes: > 0 } m ? 100.0 * m.UsedBytes / m.TotalBytes : 0;

    private string? ModelReason => Value.Services.FirstOrDefault(s => s.Name == Value.Model?.Container)?.Reason;
}
