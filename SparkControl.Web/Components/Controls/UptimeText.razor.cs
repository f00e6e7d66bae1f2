using Microsoft.AspNetCore.Components;

namespace SparkControl.Web.Components.Controls;

public partial class UptimeText
{
    [Parameter, EditorRequired]
    public DateTimeOffset Since { get; set; }

    [Inject]
    public required TimeProvider Time { get; init; }

    private string Text => Format(Time.GetUtcNow() - Since);

    protected override void OnInitialized() => RenderEvery(TimeSpan.FromSeconds(1), Time);

    /// <summary>"2 h 5 min" from an hour on, "4 min 12 s" below it, "3 d 2 h" from a day on.</summary>
    public static string Format(TimeSpan uptime) => uptime switch
    {
        { TotalDays: >= 1 } => $"{(int)uptime.TotalDays} d {uptime.Hours} h",
        { TotalHours: >= 1 } => $"{(int)uptime.TotalHours} h {uptime.Minutes} min",
        _ => $"{Math.Max(0, uptime.Minutes)} min {Math.Max(0, uptime.Seconds)} s",
    };
}
