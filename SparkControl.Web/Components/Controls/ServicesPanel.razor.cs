using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Web;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Web.Model;

namespace SparkControl.Web.Components.Controls;

public partial class ServicesPanel
{
    [Inject]
    public required Caller Caller { get; init; }

    private ServiceSettings _services = new([], []);

    [Inject]
    public required ServiceSettingsStore Store { get; init; }

    /// <summary>The Sparks the panel manages, the demo Spark too: sparks.yaml alone is empty in demo mode.</summary>
    [Inject]
    public required SparkFleet Fleet { get; init; }

    private FleetConfiguration _fleet = FleetConfiguration.Empty;

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    private IReadOnlyList<string> SparkNames => [.. _fleet.Sparks.Select(s => s.Name)];

    protected override void OnInitialized()
    {
        Watch(Store.WatchAsync, update => _services = update.Value);
        Watch(Fleet.Stream.WatchAsync, update => _fleet = update.Value);
    }

    private Task AddAsync() => OpenAsync("Add a service", new ServiceForm { Spark = SparkNames[0] }, null, null);

    private Task EditAsync(ServiceDefinition service) => OpenAsync($"Edit {service.Key}", ServiceForm.From(service), service.Key, Store.Version(service));

    private async Task OpenAsync(string title, ServiceForm form, string? key, string? version)
    {
        var parameters = new DialogParameters<ServiceDialog> { { d => d.Model, form }, { d => d.Sparks, SparkNames }, { d => d.OriginalKey, key }, { d => d.OriginalVersion, version } };
        var dialog = await Dialogs.ShowAsync<ServiceDialog>(title, parameters, new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true });
        if (await dialog.Result is { Canceled: false, Data: string message })
        {
            Snackbar.Add(message, Severity.Success);
        }
    }

    private async Task RemoveAsync(ServiceDefinition service)
    {
        if (!await ConfirmDialog.AskAsync(Dialogs, $"Remove {service.Key}?", "The panel stops checking it. Its container keeps running.", "Remove", Color.Error))
        {
            return;
        }

        try
        {
            await Store.RemoveAsync(service.Key, Store.Version(service), ComponentToken);
            Caller.Audit("service.remove", service.Key);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or SparkControl.Core.Yaml.ConfigFileException or SparkControl.Core.Storage.DataDirectoryException or SparkControl.Core.Storage.StaleVersionException)
        {
            Snackbar.Add(ex.Message, Severity.Error);
        }
    }
}
