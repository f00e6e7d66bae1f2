using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Swaps;
using SparkControl.Web;

namespace SparkControl.Web.Components.Controls;

public partial class SwapStepper
{
    [Parameter, EditorRequired]
    public required SwapStatus Value { get; set; }

    /// <summary>The clock the current phase's elapsed time is read from.</summary>
    [Parameter]
    public DateTimeOffset Now { get; set; }

    private sealed record Step(SwapPhase Phase, string State, string Time);

    private IEnumerable<Step> Steps
    {
        get
        {
            var entered = Value.Phases.Where(p => !p.Phase.IsTerminal() && p.Phase != SwapPhase.Requested).ToDictionary(p => p.Phase);
            var last = Value.Phases.LastOrDefault(p => !p.Phase.IsTerminal());
            IEnumerable<SwapPhase> planned = Value.IsUnload
                ? [SwapPhase.Preflight, SwapPhase.Draining, SwapPhase.Stopping]
                : SwapTransitions.Working.Where(p => p != SwapPhase.Downloading || entered.ContainsKey(p));
            if (entered.ContainsKey(SwapPhase.Loading) && !entered.ContainsKey(SwapPhase.Launching))
            {
                // A check of what already runs skips straight from Preflight to Loading.
                planned = planned.Where(p => entered.ContainsKey(p) || p > SwapPhase.Loading);
            }

            foreach (var phase in planned)
            {
                if (entered.TryGetValue(phase, out var timing))
                {
                    var failedHere = Value.Phase is SwapPhase.Failed or SwapPhase.Cancelled or SwapPhase.Interrupted && timing == last;
                    var state = timing.EndedAt is null ? "current" : failedHere ? "failed" : "done";
                    var duration = (timing.EndedAt ?? Now) - timing.StartedAt;
                    yield return new Step(phase, state, Format(duration));
                }
                else
                {
                    yield return new Step(phase, Value.IsActive ? "pending" : "skipped", Value.IsActive ? string.Empty : "—");
                }
            }

            yield return new Step(SwapPhase.Ready, Value.Phase == SwapPhase.Ready ? "done" : Value.IsActive ? "pending" : "skipped", Value.Phase == SwapPhase.Ready && Value.EndedAt is { } end ? $"after {Format(end - Value.RequestedAt)}" : string.Empty);
        }
    }

    public static string Format(TimeSpan time) => time.TotalSeconds switch
    {
        < 0.1 => "< 0.1 s",
        < 10 => $"{time.TotalSeconds:0.0} s",
        < 90 => $"{time.TotalSeconds:0} s",
        < 5400 => $"{(int)time.TotalMinutes} min {time.Seconds} s",
        _ => $"{(int)time.TotalHours} h {time.Minutes} min",
    };

    private static string IconOf(string state) => state switch
    {
        "done" => Icons.Material.Filled.CheckCircle,
        "current" => Icons.Material.Filled.Autorenew,
        "failed" => Icons.Material.Filled.Cancel,
        _ => Icons.Material.Outlined.Circle,
    };

    private static Color ColorOf(string state) => state switch
    {
        "done" => Color.Success,
        "current" => Color.Info,
        "failed" => Color.Error,
        _ => Color.Default,
    };
}
