using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Catalog;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;
using SparkControl.Web;

namespace SparkControl.Web.Components.Pages;

public partial class SwapHistoryPage
{
    private IReadOnlyList<SwapStatus> _rows = [];
    private string? _model;
    private string? _spark;
    private SwapPhase? _outcome;
    private string? _search;

    [Inject]
    public required SwapHistory History { get; init; }

    [Inject]
    public required SwapOrchestrator Swaps { get; init; }

    [Inject]
    public required ModelCatalog Catalog { get; init; }

    [Inject]
    public required SparkFleet Fleet { get; init; }

    [Inject]
    public required TimeProvider Time { get; init; }

    protected override void OnInitialized()
    {
        // Every change to the board is a change to the history: read it again (it is small and indexed).
        Watch(Swaps.WatchAsync, _ => Load());
    }

    private void Load() => _rows = History.Query(new SwapHistoryQuery(_model, _spark, _outcome));

    private Task FilterAsync(Action set)
    {
        set();
        Load();
        return Task.CompletedTask;
    }

    /// <summary>The search box, over what a row shows: swap id, models, Spark, who asked, outcome and result.</summary>
    private bool Matches(SwapStatus swap) =>
        string.IsNullOrWhiteSpace(_search)
        || new[] { swap.Id, swap.ModelId, swap.PreviousModelId, swap.Target, swap.Requester, swap.Phase.ToString(), swap.Message }
            .Any(text => text?.Contains(_search.Trim(), StringComparison.OrdinalIgnoreCase) == true);

    private static Color ColorOf(SwapPhase phase) => phase switch
    {
        SwapPhase.Ready => Color.Success,
        SwapPhase.Failed => Color.Error,
        SwapPhase.Cancelled or SwapPhase.Interrupted => Color.Warning,
        _ => Color.Info,
    };
}
