using Microsoft.AspNetCore.Components;
using SparkControl.Core.Services;
using SparkControl.Web;

namespace SparkControl.Web.Components.Controls;

public partial class StatusTimeline
{
    [Parameter, EditorRequired]
    public IReadOnlyList<TimelineSegment> Segments { get; set; } = [];

    private DateTimeOffset From => Segments.Count > 0 ? Segments[0].From : DateTimeOffset.MinValue;

    private double Total => Segments.Count == 0 ? 1 : (Segments[^1].To - Segments[0].From).TotalSeconds;

    private double Width(TimelineSegment segment) => Math.Max(0.2, (segment.To - segment.From).TotalSeconds / Total * 100);

    private static readonly HealthStatus[] Legend = [HealthStatus.Healthy, HealthStatus.Loading, HealthStatus.Degraded, HealthStatus.Down, HealthStatus.Unknown];

    private static string Label(HealthStatus status) => status == HealthStatus.Unknown ? "Unknown (not checked)" : status.ToString();

    private static string ColorOf(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "var(--mud-palette-success)",
        HealthStatus.Loading => "var(--mud-palette-info)",
        HealthStatus.Degraded => "var(--mud-palette-warning)",
        HealthStatus.Down => "var(--mud-palette-error)",
        _ => "var(--mud-palette-action-disabled)",
    };
}
