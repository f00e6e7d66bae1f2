using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Services;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Core.Maintenance;
using SparkControl.Core.Units;

namespace SparkControl.Web.Components.Pages;

/// <summary>A Spark's host: versions, memory, disks, model containers, host actions with streamed output, Reapply patches.</summary>
public partial class HostPage : IAsyncDisposable
{
    [Inject]
    public required Caller Caller { get; init; }

    private readonly CancellationTokenSource _cts = new();
    private readonly List<string> _output = [];
    private HostOverview? _overview;

    /// <summary>When <see cref="_overview"/> was read: the host's uptime counts on from there.</summary>
    private DateTimeOffset _readAt;
    private IReadOnlyList<LimitChange>? _changes;
    private string? _error;
    private bool _loading;
    private bool _running;
    private bool _stopModelsFirst;
    private string? _attached;

    /// <summary>Counts the host actions that ended here, so the updates view reads its counts and last runs again.</summary>
    private int _generation;

    [Parameter]
    public string Spark { get; set; } = string.Empty;

    [Inject]
    public required HostOverviewReader Reader { get; init; }

    [Inject]
    public required HostActionService HostActions { get; init; }

    [Inject]
    public required ServiceActions ServiceActions { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required TimeProvider Time { get; init; }

    protected override async Task OnInitializedAsync()
    {
        await LoadAsync();
        await AttachAsync();
    }

    /// <summary>
    /// apt-get runs detached on the Spark: one started from another page, browser or panel before a restart is shown
    /// here, its output from the first line and live until it ends.
    /// </summary>
    private async Task AttachAsync()
    {
        HostActionState? state;
        try
        {
            state = await HostActions.AttachAsync(Spark, _cts.Token);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException)
        {
            return;
        }

        if (state is null)
        {
            return;
        }

        var started = state.StartedAt is { } at ? $" (started {at.ToLocalTime():g})" : string.Empty;
        if (!state.IsRunning)
        {
            _attached = $"Last host action: {HostActionNames.Describe(state.Action)}{started}, {(state.Succeeded ? "finished" : state.ExitCode is { } code ? $"failed (exit {code})" : "ended without an exit status")}.";
            return;
        }

        _attached = $"{HostActionNames.Describe(state.Action)} is running on {Spark}{started}; its output follows.";
        _running = true;
        _output.Clear();
        _output.Add($"$ {string.Join(' ', HostActionNames.Command(state.Action))}");
        _ = WatchAsync();
    }

    private async Task WatchAsync()
    {
        try
        {
            await foreach (var line in HostActions.WatchAsync(Spark, _cts.Token))
            {
                _output.Add(line);
                await InvokeAsync(StateHasChanged);
            }

            _output.Add("(finished)");
        }
        catch (SparkCommandException ex)
        {
            _output.Add(ex.Message);
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
            return;
        }

        _running = false;
        _generation++;
        await InvokeAsync(StateHasChanged);
    }

    private async Task LoadAsync()
    {
        _loading = true;
        _error = null;
        try
        {
            _overview = await Reader.ReadAsync(Spark, _cts.Token);
            _readAt = Time.GetUtcNow();
        }
        catch (Exception ex) when (ex is KeyNotFoundException or SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException)
        {
            _error = ex.Message;
        }
        finally
        {
            _loading = false;
        }
    }

    /// <summary>An image ID as <c>docker images</c> shows it: the first 12 hex digits; the page's title has it whole.</summary>
    private static string ShortImageId(string? id) => id is null ? "?" : id.StartsWith("sha256:", StringComparison.Ordinal) && id.Length > 19 ? id[7..19] : id;

    private static string Describe(long? bytes) => bytes is { } value ? ByteSize.Format(value) : "none";

    /// <summary>
    /// Asks before an action: a full-upgrade shows what it would remove and returns the count seen, which the start
    /// is checked against; the others are a plain confirmation.
    /// </summary>
    private async Task<(bool Go, int? ConfirmedRemovals)> AskAsync(HostAction action)
    {
        if (action == HostAction.AptFullUpgrade)
        {
            var confirmed = await FullUpgradeDialog.AskAsync(Dialogs, Spark);
            return (confirmed is not null, confirmed);
        }

        var (title, message, color) = action switch
        {
            HostAction.Reboot => ($"Reboot {Spark}?", _stopModelsFirst ? "Running models are stopped first, then the Spark reboots. Services on it are down until it is back." : "The Spark reboots. Services on it are down until it is back.", Color.Error),
            HostAction.AptUpgrade => ($"Upgrade packages on {Spark}?", "apt-get -y upgrade installs every pending update.", Color.Warning),
            HostAction.FirmwareUpdate => ($"Update firmware on {Spark}?", "fwupdmgr installs every pending firmware update; most take effect at the next reboot, which is not started for you.", Color.Warning),
            _ => ($"Refresh package lists on {Spark}?", "apt-get update downloads the package lists; nothing is installed.", Color.Primary),
        };
        return (await ConfirmDialog.AskAsync(Dialogs, title, message, action.ToRoute(), color), null);
    }

    private async Task RunAsync(HostAction action)
    {
        var (go, confirmedRemovals) = await AskAsync(action);
        if (!go)
        {
            return;
        }

        _running = true;
        _attached = null;
        _output.Clear();
        _output.Add($"$ {string.Join(' ', HostActionNames.Command(action))}");
        try
        {
            Caller.Demand(AccessRole.Admin);
            await foreach (var line in HostActions.RunAsync(Spark, action, _stopModelsFirst, confirmedRemovals, Caller.AuditActor, _cts.Token))
            {
                _output.Add(line);
                await InvokeAsync(StateHasChanged);
            }

            _output.Add("(finished)");
        }
        catch (Exception ex) when (ex is AccessRefusedException or HostActionRefusedException or KeyNotFoundException or SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException)
        {
            _output.Add(ex.Message);
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
        }
        finally
        {
            _running = false;
            _generation++;
        }
    }

    private async Task ReapplyAsync()
    {
        _running = true;
        try
        {
            Caller.Demand(AccessRole.Admin);
            _changes = await ServiceActions.ReapplyPatchesAsync(Spark, Caller.AuditActor, _cts.Token);
        }
        catch (Exception ex) when (ex is AccessRefusedException or KeyNotFoundException or SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException)
        {
            _error = ex.Message;
        }
        finally
        {
            _running = false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _cts.Dispose();
        GC.SuppressFinalize(this);
    }
}
