using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Hosts;
using SparkControl.Core.Maintenance;
using SparkControl.Core.Remote;

namespace SparkControl.Web.Components.Dialogs;

/// <summary>
/// Shows what apt-get full-upgrade would do, the packages it removes first, and only then offers Run: its result is
/// the removal count the operator saw, which the start is checked against.
/// </summary>
public partial class FullUpgradeDialog : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private AptSimulation? _preview;
    private string? _error;

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Parameter, EditorRequired]
    public string Spark { get; set; } = string.Empty;

    [Inject]
    public required HostUpdatesReader Reader { get; init; }

    private string RunText => _preview is { Removals.Count: > 0 } preview ? $"Run, removing {preview.Removals.Count}" : "Run full-upgrade";

    protected override async Task OnInitializedAsync()
    {
        try
        {
            _preview = await Reader.PreviewFullUpgradeAsync(Spark, _cts.Token);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException)
        {
            _error = ex.Message;
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
        }
    }

    private void Cancel() => Dialog.Cancel();

    private void Run()
    {
        if (_preview is { } preview)
        {
            Dialog.Close(DialogResult.Ok(preview.Removals.Count));
        }
    }

    /// <summary>Shows the preview; the removal count the operator confirmed, or null when cancelled.</summary>
    public static async Task<int?> AskAsync(IDialogService dialogs, string spark)
    {
        var parameters = new DialogParameters<FullUpgradeDialog> { { d => d.Spark, spark } };
        var reference = await dialogs.ShowAsync<FullUpgradeDialog>($"Full upgrade of {spark}", parameters, new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true });
        var result = await reference.Result;
        return result is { Canceled: false, Data: int count } ? count : null;
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _cts.Dispose();
        GC.SuppressFinalize(this);
    }
}
