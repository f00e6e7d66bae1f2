using Microsoft.AspNetCore.Components;
using SparkControl.Core.Maintenance;
using SparkControl.Core.Remote;

namespace SparkControl.Web.Components.Controls;

/// <summary>A Spark's pending apt and firmware updates, and when each host action last ran, by whom, and how it ended.</summary>
public partial class HostUpdatesView : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private HostUpdates? _updates;
    private string? _error;
    private bool _loading;
    private (string Spark, int Generation)? _loaded;

    [Parameter, EditorRequired]
    public string Spark { get; set; } = string.Empty;

    /// <summary>Bumped by the page when a host action ends: the counts and last runs are read again.</summary>
    [Parameter]
    public int Generation { get; set; }

    [Inject]
    public required HostUpdatesReader Reader { get; init; }

    protected override async Task OnParametersSetAsync()
    {
        if (_loaded != (Spark, Generation))
        {
            _loaded = (Spark, Generation);
            await LoadAsync();
        }
    }

    private async Task LoadAsync()
    {
        _loading = true;
        _error = null;
        try
        {
            _updates = await Reader.ReadAsync(Spark, _cts.Token);
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
            _loading = false;
        }
    }

    public static string AptText(HostUpdates updates) => updates.AptUpgrades is { } upgrades
        ? $"apt: {upgrades} package{(upgrades == 1 ? string.Empty : "s")} to install or upgrade, {updates.AptRemovals} to remove (apt-get full-upgrade)"
        : $"apt: cannot tell ({updates.AptProblem})";

    public static string FirmwareText(HostUpdates updates) => updates.FirmwarePending is { } pending
        ? $"Firmware: {(pending == 0 ? "up to date" : $"{pending} device{(pending == 1 ? string.Empty : "s")} with a pending update")}"
        : $"Firmware: cannot tell ({updates.FirmwareProblem})";

    /// <summary>A start without an end is still running, or its end was not recorded (the panel stopped under it).</summary>
    public static string Outcome(HostLastRun run) => run switch
    {
        { StartedAt: null, Outcome: null } => "—",
        { Outcome: { } outcome } => outcome,
        _ => "running, or its end was not recorded",
    };

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _cts.Dispose();
        GC.SuppressFinalize(this);
    }
}
