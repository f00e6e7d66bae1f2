using Microsoft.AspNetCore.Components;
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

    /// <summary>Live figures the page adds at the card's foot (the dashboard's GPU figures), which re-render on their own.</summary>
    [Parameter]
    public RenderFragment? ChildContent { get; set; }

    /// <summary>Unloads the Spark's model (after the operator confirms).</summary>
    [Parameter]
    public EventCallback<string> OnUnload { get; set; }

    private readonly RenderedFrom<(string, Reachability, string, bool, Core.Remote.ConnectionState?, string?, string?, HealthStatus?, string?, bool, string, string)> _shown = new();

    private (string, Reachability, string, bool, Core.Remote.ConnectionState?, string?, string?, HealthStatus?, string?, bool, string, string) Shown =>
        (Value.Spark, Value.Reachability, ReachabilityText, Value.IsSimulated, Value.Connection?.State, Value.Connection?.Error,
            Value.Model?.ServedName, Value.Model?.Status, ModelReason, OnUnload.HasDelegate, IdleText, ServiceSummary);

    protected override void OnInitialized() => _shown.Changed(Shown);

    /// <summary>
    /// A swap's every phase and its once-a-second progress re-render the dashboard; the card renders only when what it
    /// shows moved (its child content, the GPU figures, renders on its own).
    /// </summary>
    protected override bool ShouldRender() => _shown.Changed(Shown);

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

    private string? ModelReason => Value.Services.FirstOrDefault(s => s.Name == Value.Model?.Container)?.Reason;
}
