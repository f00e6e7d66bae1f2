using System.Globalization;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Access;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;
using SparkControl.Core.Vectors;
using SparkControl.Core.Vectors.Snapshots;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Controls;

/// <summary>A Qdrant service's snapshot schedule, its runs live (progress while they download), download and restore.</summary>
public sealed partial class SnapshotsPanel : IDisposable
{
    [Parameter, EditorRequired]
    public required ServiceDefinition Service { get; set; }

    [Parameter]
    public IReadOnlyList<string> Collections { get; set; } = [];

    [Inject]
    public required QdrantSnapshots Snapshots { get; init; }

    [Inject]
    public required SnapshotScheduler Scheduler { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    private IReadOnlyList<SnapshotRecord> _runs = [];
    private bool _enabled;
    private string? _cron;
    private string? _intervalMinutes;
    private string _scope = SnapshotSchedule.EachCollection;
    private string? _keepLast;
    private string? _keepDays;
    private bool _starting;
    private bool _restoring;
    private string? _message;
    private Severity _messageSeverity = Severity.Info;

    private DateTimeOffset? NextRun => Scheduler.NextRunAt(Service.Key);

    /// <summary>What is wrong with the typed schedule, by the API's rules.</summary>
    private IReadOnlyList<FieldError> Errors => Read(out _);

    protected override void OnInitialized()
    {
        var schedule = Snapshots.ScheduleOf(Service);
        _enabled = schedule.Enabled;
        _cron = schedule.Cron;
        _intervalMinutes = schedule.Interval is { } interval ? ((int)interval.TotalMinutes).ToString(CultureInfo.InvariantCulture) : null;
        _scope = schedule.Scope;
        _keepLast = schedule.KeepLast.ToString(CultureInfo.InvariantCulture);
        _keepDays = schedule.KeepDays.ToString(CultureInfo.InvariantCulture);
        _runs = Snapshots.Runs(Service);
        Snapshots.Changed += OnChanged;
    }

    private void OnChanged() => _ = InvokeAsync(() =>
    {
        _runs = Snapshots.Runs(Service);
        StateHasChanged();
    });

    private IReadOnlyList<FieldError> Read(out SnapshotSchedule schedule)
    {
        var errors = new List<FieldError>();
        errors.AddIf("interval", Validators.WholeNumber(_intervalMinutes, out var minutes, "interval"));
        errors.AddIf("keepLast", Validators.WholeNumber(_keepLast, out var keepLast, "keepLast") ?? (keepLast is null ? "keepLast is required" : null));
        errors.AddIf("keepDays", Validators.WholeNumber(_keepDays, out var keepDays, "keepDays"));
        schedule = new SnapshotSchedule
        {
            Enabled = _enabled,
            Cron = string.IsNullOrWhiteSpace(_cron) ? null : _cron.Trim(),
            Interval = minutes is { } m ? TimeSpan.FromMinutes(m) : null,
            Scope = _scope,
            KeepLast = keepLast ?? 7,
            KeepDays = keepDays ?? 0,
        };
        errors.AddRange(schedule.Check().Where(e => errors.All(known => known.Field != e.Field)));
        return errors;
    }

    private void SaveAsync()
    {
        if (Read(out var schedule).Count > 0)
        {
            return;
        }

        try
        {
            Caller.Demand(AccessRole.Operator);
            Snapshots.SaveSchedule(Service, schedule, Caller.AuditActor);
            Show(schedule.Enabled ? "Schedule saved." : "Schedule saved: off.", Severity.Success);
        }
        catch (AccessRefusedException ex)
        {
            Show(ex.Message, Severity.Error);
        }
    }

    private async Task TakeNowAsync()
    {
        _starting = true;
        try
        {
            Caller.Demand(AccessRole.Operator);
            var (runs, _) = await Snapshots.StartAsync(Service, _scope, Caller.Actor, CancellationToken.None);
            Show($"Started {runs.Count} snapshot{(runs.Count == 1 ? string.Empty : "s")}.", Severity.Info);
        }
        catch (Exception ex) when (ex is AccessRefusedException or QdrantCallException or KeyNotFoundException or ValidationFailedException)
        {
            Show(ex.Message, Severity.Error);
        }
        finally
        {
            _starting = false;
            _runs = Snapshots.Runs(Service);
        }
    }

    private async Task RestoreAsync(SnapshotRecord run)
    {
        if (!await ConfirmDialog.AskAsync(Dialogs, $"Restore {run.Collection}?", $"The collection {run.Collection} on {Service.Key} becomes what the snapshot of {run.StartedAt:yyyy-MM-dd HH:mm} UTC holds: points added since are lost. The restore is written to the audit log.", "Restore", Color.Warning))
        {
            return;
        }

        _restoring = true;
        try
        {
            Caller.Demand(AccessRole.Operator);
            await Snapshots.RestoreAsync(Service, run.Id, null, Caller.AuditActor, CancellationToken.None);
            Show($"Restored {run.Collection} from {run.Name}.", Severity.Success);
        }
        catch (Exception ex) when (ex is AccessRefusedException or QdrantCallException or SnapshotRefusedException or KeyNotFoundException or HttpRequestException or IOException)
        {
            Show(ex.Message, Severity.Error);
        }
        finally
        {
            _restoring = false;
        }
    }

    private void Show(string message, Severity severity) => (_message, _messageSeverity) = (message, severity);

    private string FileHref(SnapshotRecord run) => $"/api/qdrant/{Uri.EscapeDataString(Service.Spark)}/{Uri.EscapeDataString(Service.Name)}/snapshots/{run.Id.ToString(CultureInfo.InvariantCulture)}/file";

    private static double Percent(SnapshotRecord run) => run.Size is { } size and > 0 ? 100.0 * run.Downloaded / size : 0;

    public void Dispose() => Snapshots.Changed -= OnChanged;
}
