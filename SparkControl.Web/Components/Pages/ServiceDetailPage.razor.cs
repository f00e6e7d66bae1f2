using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Remote;
using SparkControl.Core.Services;
using SparkControl.Core.Storage;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Core.Sparks;

namespace SparkControl.Web.Components.Pages;

/// <summary>One service: live status, 24-hour timeline, container facts and limits, model-server load, log, actions.</summary>
public partial class ServiceDetailPage
{
    [Inject]
    public required Caller Caller { get; init; }

    private ServiceHealth? _health;
    private SparkControl.Core.Services.ServiceDetail? _detail;
    private ModelServerStats? _stats;
    private bool _missing;
    private bool _busy;
    private List<BreadcrumbItem> _crumbs = [];

    [Parameter]
    public string Spark { get; set; } = string.Empty;

    [Parameter]
    public string Service { get; set; } = string.Empty;

    [Inject]
    public required FleetSources FleetSources { get; init; }

    [Inject]
    public required ModelServerMonitor ModelServers { get; init; }

    [Inject]
    public required ServiceDetailReader Reader { get; init; }

    [Inject]
    public required ServiceActions Actions { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private bool Running => _detail?.Container?.Running == true;

    private DateTimeOffset? StartedAt => _detail?.Container is { Running: true, StartedAt: { } started } ? started : null;

    private IEnumerable<ServiceLink> Links => _health is null ? [] : ServiceLinks.For(_health, _detail?.Definition.Links ?? []);

    protected override void OnInitialized()
    {
        _crumbs = [new BreadcrumbItem("Services", "services"), new BreadcrumbItem(Spark, $"sparks/{Spark}/host"), new BreadcrumbItem(Service, null, disabled: true)];
        WatchFleet(FleetSources, fleet =>
        {
            var next = fleet.Now?.Find(Spark, Service);
            _missing = fleet.Now is not null && next is null;
            var changed = next?.Status != _health?.Status;
            _health = next;
            if (changed && next is not null)
            {
                // Container facts and the timeline change with the status: read them again.
                _ = ReloadAsync();
            }
        });
        Watch(ModelServers.WatchAsync, update => _stats = update.Value.GetValueOrDefault($"{Spark}/{Service}"));
    }

    private async Task ReloadAsync()
    {
        try
        {
            _detail = await Reader.ReadAsync(Spark, Service, ComponentToken);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException)
        {
            Snackbar.Add(ex.Message, Severity.Warning);
        }
        catch (OperationCanceledException) when (ComponentToken.IsCancellationRequested)
        {
            return;
        }

        await InvokeAsync(StateHasChanged);
    }

    private async Task ActAsync(string action)
    {
        var verb = action switch { "stop" => "Stop", "restart" => "Restart", _ => "Start" };
        if (!await ConfirmDialog.AskAsync(Dialogs, $"{verb} {Service}?", $"{verb} the container {_detail?.Definition.Container} on {Spark}. The action is written to the audit log.", verb, action == "stop" ? Color.Error : Color.Primary))
        {
            return;
        }

        _busy = true;
        try
        {
            Caller.Demand(AccessRole.Operator);
            await (action switch
            {
                "stop" => Actions.StopAsync(Spark, Service, Caller.AuditActor, ComponentToken),
                "restart" => Actions.RestartAsync(Spark, Service, Caller.AuditActor, ComponentToken),
                _ => Actions.StartAsync(Spark, Service, Caller.AuditActor, ComponentToken),
            });
            Snackbar.Add($"{verb}: done.", Severity.Success);
            await ReloadAsync();
        }
        catch (Exception ex) when (ex is AccessRefusedException or KeyNotFoundException or SettingsConflictException or SparkUnreachableException or SparkCommandException or RemoteCommandTimeoutException)
        {
            Snackbar.Add(ex.Message, Severity.Error);
        }
        finally
        {
            _busy = false;
        }
    }
}
