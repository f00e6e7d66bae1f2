using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Operations;
using SparkControl.Core.Storage;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Web.Model;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Controls;

/// <summary>The alert webhooks on the Settings page (admins only): add, edit, test, remove, and how deliveries went.</summary>
public partial class AlertsPanel
{
    private AlertInput.AlertsView _view = new([], []);
    private string? _testing;

    [Inject]
    public required AlertWebhooks Webhooks { get; init; }

    [Inject]
    public required AlertSettingsStore Store { get; init; }

    [Inject]
    public required AlertDelivery Deliveries { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    protected override void OnInitialized() => Refresh();

    private void Refresh() =>
        _view = new AlertInput.AlertsView([.. Webhooks.List().Select(t => AlertInput.View(t, Webhooks, Deliveries))], [.. Deliveries.Recent]);

    private static string Describe(AlertDeliveryRecord record) =>
        $"{record.Outcome}{(record.Attempts > 1 ? $" after {record.Attempts} tries" : string.Empty)}";

    private Task AddAsync() => OpenAsync("Add an alert webhook", null);

    private Task EditAsync(AlertInput.AlertView hook) => OpenAsync($"Edit the webhook {hook.Name}", hook);

    private async Task OpenAsync(string title, AlertInput.AlertView? original)
    {
        var parameters = new DialogParameters<AlertDialog> { { d => d.Original, original } };
        var dialog = await Dialogs.ShowAsync<AlertDialog>(title, parameters, new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true });
        if (await dialog.Result is { Canceled: false, Data: string message })
        {
            Snackbar.Add(message, Severity.Success);
            Refresh();
        }
    }

    private async Task TestAsync(string name)
    {
        _testing = name;
        try
        {
            var record = await Webhooks.TestAsync(name, CancellationToken.None);
            Caller.Audit("alert.test", name);
            Snackbar.Add(record.Delivered ? $"The test alert reached {name} ({record.Outcome})." : $"The test alert did not reach {name}: {Describe(record)}.", record.Delivered ? Severity.Success : Severity.Error);
        }
        catch (KeyNotFoundException ex)
        {
            Snackbar.Add(ex.Message, Severity.Warning);
        }
        finally
        {
            _testing = null;
            Refresh();
        }
    }

    private async Task RemoveAsync(string name)
    {
        if (!await ConfirmDialog.AskAsync(Dialogs, $"Remove the webhook {name}?", "Its address is deleted from secrets.yaml and it gets no more alerts.", "Remove", Color.Error))
        {
            return;
        }

        try
        {
            await Webhooks.RemoveAsync(name, CancellationToken.None);
            Caller.Audit("alert.remove", name);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or DataDirectoryException or SettingsConflictException)
        {
            Snackbar.Add(ex.Message, Severity.Error);
        }

        Refresh();
    }
}
