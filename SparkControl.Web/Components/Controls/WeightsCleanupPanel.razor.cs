using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Access;
using SparkControl.Core.Disk;
using SparkControl.Core.Remote;
using SparkControl.Core.Units;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Controls;

/// <summary>
/// The Spark's Hugging Face cache on the Host page: every model folder with its size and who uses it; an admin selects
/// unreferenced ones, confirms the list and its total, and sees each folder deleted or kept (and why) in turn.
/// </summary>
public partial class WeightsCleanupPanel : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly HashSet<string> _selected = new(StringComparer.Ordinal);
    private HfCacheListing? _listing;
    private List<WeightsCleanupResult>? _results;
    private string? _error;
    private string? _progress;
    private bool _loading;
    private bool _busy;
    private bool _mayDelete;

    [Parameter, EditorRequired]
    public string Spark { get; set; } = string.Empty;

    [Inject]
    public required WeightsCleanup Cleanup { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    protected override async Task OnInitializedAsync()
    {
        _mayDelete = Caller.May(AccessRole.Admin);
        await LoadAsync();
    }

    private long SelectedBytes => _listing?.Folders.Where(f => _selected.Contains(f.Folder)).Sum(f => f.FreedByDeleting) ?? 0;

    private static string UsedBy(HfCacheFolder folder) => (folder.Referenced, folder.InUse) switch
    {
        (true, true) => $"catalog: {string.Join(", ", folder.ReferencedBy)}; running: {string.Join(", ", folder.InUseBy)}",
        (true, false) => $"catalog: {string.Join(", ", folder.ReferencedBy)}",
        (false, true) => $"running: {string.Join(", ", folder.InUseBy)}",
        _ => folder.IsSymlink ? "nothing (a symlink: deleting it removes the link, not its target)" : "nothing",
    };

    private void Toggle(string folder, bool on)
    {
        if (on)
        {
            _selected.Add(folder);
        }
        else
        {
            _selected.Remove(folder);
        }
    }

    private async Task LoadAsync()
    {
        _busy = _loading = true;
        _error = null;
        try
        {
            _listing = await Cleanup.ListAsync(Spark, _cts.Token);
            // A folder deleted or newly referenced since it was ticked is no longer offered.
            _selected.IntersectWith(_listing.Folders.Where(_listing.Offers).Select(f => f.Folder));
        }
        catch (Exception ex) when (ex is KeyNotFoundException or SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException)
        {
            _error = ex.Message;
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
        }
        finally
        {
            _busy = _loading = false;
        }
    }

    private async Task DeleteAsync()
    {
        var chosen = _listing?.Folders.Where(f => _selected.Contains(f.Folder)).ToList() ?? [];
        if (chosen.Count == 0 || !await WeightsCleanupDialog.AskAsync(Dialogs, Spark, chosen))
        {
            return;
        }

        _busy = true;
        _error = null;
        _results = [];
        try
        {
            Caller.Demand(AccessRole.Admin);
            // One folder per call: the page shows which one is going, and each is checked again right before it goes.
            for (var i = 0; i < chosen.Count; i++)
            {
                _progress = $"Deleting {chosen[i].Folder} ({i + 1} of {chosen.Count}, {ByteSize.Human(chosen[i].Bytes ?? 0)})…";
                await InvokeAsync(StateHasChanged);
                _results.AddRange(await Cleanup.CleanupAsync(Spark, [chosen[i].Folder], Caller.AuditActor, _cts.Token));
            }
        }
        catch (Exception ex) when (ex is AccessRefusedException or KeyNotFoundException or SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException)
        {
            _error = ex.Message;
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
            return;
        }
        finally
        {
            _progress = null;
            _busy = false;
        }

        _selected.Clear();
        await LoadAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _cts.Dispose();
        GC.SuppressFinalize(this);
    }
}
