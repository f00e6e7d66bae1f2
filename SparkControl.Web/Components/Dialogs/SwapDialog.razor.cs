using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Catalog;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;
using SparkControl.Web;

namespace SparkControl.Web.Components.Dialogs;

public partial class SwapDialog
{
    [Inject]
    public required Caller Caller { get; init; }

    private readonly HashSet<string> _stop = new(StringComparer.OrdinalIgnoreCase);
    private string _target = string.Empty;
    private SwapPreview? _preview;
    private string? _error;
    private bool _loading;
    private bool _starting;

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Inject]
    public required SwapOrchestrator Swaps { get; init; }

    [Inject]
    public required SparkFleet Fleet { get; init; }

    /// <summary>The model to load; null unloads <see cref="Target"/>.</summary>
    [Parameter]
    public ModelDefinition? Model { get; set; }

    /// <summary>A Spark to start with (an unload's Spark).</summary>
    [Parameter]
    public string? Target { get; set; }

    private IReadOnlyList<string> Targets => Model switch
    {
        { Placement: ModelPlacement.Cluster } => [SwapTargets.Cluster],
        { Source: LocalSource local } => [local.Spark],
        _ => [.. Fleet.Current.Sparks.Select(s => s.Name)],
    };

    protected override async Task OnInitializedAsync()
    {
        _target = Target is not null && Targets.Contains(Target) ? Target : Targets.FirstOrDefault() ?? string.Empty;
        await PreviewAsync();
        Watch(Swaps.WatchAsync, _ => FollowBoard());
    }

    /// <summary>
    /// A swap that starts or ends on the Sparks changes the verdict (and, once it ends, what runs): the preview is made
    /// again then, not on the board's every tick.
    /// </summary>
    private void FollowBoard()
    {
        if (_loading || _preview is not { } preview || Swaps.Holding(preview.Sparks)?.Id == preview.RunningSwapId)
        {
            return;
        }

        _ = RefreshAsync();
    }

    private async Task RefreshAsync()
    {
        await PreviewAsync();
        StateHasChanged();
    }

    private async Task TargetChangedAsync(string target)
    {
        _target = target;
        _stop.Clear();
        await PreviewAsync();
    }

    private async Task ToggleServiceAsync(string service, bool on)
    {
        if (on)
        {
            _stop.Add(service);
        }
        else
        {
            _stop.Remove(service);
        }

        await PreviewAsync();
    }

    private SwapRequest Request() => new(Model?.Id, _target, Caller.Actor) { StopServices = [.. _stop], RequesterAddress = Caller.Address };

    private async Task PreviewAsync()
    {
        _loading = true;
        _error = null;
        try
        {
            // A swap that started or ended while the preview was made (the board moved on meanwhile) is looked at again.
            var rounds = 0;
            do
            {
                _preview = await Swaps.PreviewAsync(Request(), CancellationToken.None);
            }
            while (++rounds < 3 && Swaps.Holding(_preview.Sparks)?.Id != _preview.RunningSwapId);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or SparkControl.Core.Validation.ValidationFailedException or SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException or HostKeyNotApprovedException or InvalidOperationException)
        {
            _preview = null;
            _error = ex.Message;
        }
        finally
        {
            _loading = false;
        }
    }

    private void StartAsync()
    {
        _starting = true;
        try
        {
            Caller.Demand(AccessRole.Operator);
            var started = Swaps.Start(Request());
            Dialog.Close(DialogResult.Ok(started));
        }
        catch (Exception ex) when (ex is AccessRefusedException or SwapConflictException or KeyNotFoundException or SparkControl.Core.Validation.ValidationFailedException)
        {
            _error = ex.Message;
            _starting = false;
        }
    }

    private static string Gib(double value) => Core.Units.ByteSize.GiBNumber(value);

    /// <summary>Opens the dialog; the started swap, or null when the operator backed out.</summary>
    public static async Task<SwapStatus?> AskAsync(IDialogService dialogs, ModelDefinition? model, string? target)
    {
        var parameters = new DialogParameters<SwapDialog> { { d => d.Model, model }, { d => d.Target, target } };
        var title = model is null ? $"Unload the model on {target}" : $"Swap to {model.DisplayName}";
        var reference = await dialogs.ShowAsync<SwapDialog>(title, parameters, new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true });
        return await reference.Result is { Canceled: false, Data: SwapStatus status } ? status : null;
    }
}
