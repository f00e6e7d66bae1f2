using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Services;
using SparkControl.Web;

namespace SparkControl.Web.Components.Controls;

public partial class StatusChip
{
    [Parameter, EditorRequired]
    public HealthStatus Status { get; set; }

    [Parameter]
    public string? Reason { get; set; }

    [Parameter]
    public string? TestId { get; set; }

    public static Color ColorOf(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => Color.Success,
        HealthStatus.Loading => Color.Info,
        HealthStatus.Degraded => Color.Warning,
        HealthStatus.Down => Color.Error,
        _ => Color.Default,
    };

    private static string IconOf(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => Icons.Material.Filled.CheckCircle,
        HealthStatus.Loading => Icons.Material.Filled.HourglassTop,
        HealthStatus.Degraded => Icons.Material.Filled.Warning,
        HealthStatus.Down => Icons.Material.Filled.Error,
        _ => Icons.Material.Filled.HelpOutline,
    };
}
