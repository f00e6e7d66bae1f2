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

    private readonly RenderedFrom<(SwapStatus, DateTimeOffset, bool, bool, bool)> _shown = new();

    /// <summary>
    /// The dashboard re-renders on every health check; a swap's status is a new record whenever it moves, and only a
    /// running swap's times move with <see cref="Now"/>, so a finished swap's card renders only when its actions change.
    /// </summary>
    protected override bool ShouldRender() => _shown.Changed(Shown);

    protected override void OnInitialized() => _shown.Changed(Shown);

    private (SwapStatus, DateTimeOffset, bool, bool, bool) Shown =>
        (Value, Value.IsActive ? Now : default, OnCancel.HasDelegate, OnDismiss.HasDelegate, OnBringBack.HasDelegate);

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
