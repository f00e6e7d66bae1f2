using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Swaps;
using SparkControl.Web;

namespace SparkControl.Web.Components.Controls;

public partial class SwapProgressCard
{
    [Parameter, EditorRequired]
    public required SwapStatus Value { get; set; }

    [Parameter]
    public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;

    [Parameter]
    public EventCallback<SwapStatus> OnCancel { get; set; }

    [Parameter]
    public EventCallback<SwapStatus> OnDismiss { get; set; }

    /// <summary>Offered after an interrupted swap left nothing serving: start the model that served before.</summary>
    [Parameter]
    public EventCallback<SwapStatus> OnBringBack { get; set; }

    private string Title => Value.IsUnload
        ? $"Unload {Value.PreviousModelId ?? "the model"}"
        : Value.PreviousModelId is { } previous && previous != Value.ModelId ? $"{previous} → {Value.ModelId}" : $"Load {Value.ModelId}";

    private string Eta => Value.Eta is { } eta
        ? $"about {SwapStepper.Format(eta)} left{(Value.EtaFromHistory ? string.Empty : " in the download")}"
        : string.Empty;

    private Color PhaseColor => Value.Phase switch
    {
        SwapPhase.Ready => Color.Success,
        SwapPhase.Failed => Color.Error,
        SwapPhase.Cancelled or SwapPhase.Interrupted => Color.Warning,
        _ => Color.Info,
    };
}
