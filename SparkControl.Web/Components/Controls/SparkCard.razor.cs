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
        { InFlight: > 0 } idle => $"Unloads after {SwapStepper.Format(idle.After)} unused · in use now",
        var idle => $"Unloads after {SwapStepper.Format(idle.After)} unused · unused for {SwapStepper.Format(idle.IdleFor)}",
    };

    private string? ModelReason => Value.Services.FirstOrDefault(s => s.Name == Value.Model?.Container)?.Reason;
}
