using SparkControl.Web.Security;
using SparkControl.Core.Access;
using System.Collections.Immutable;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Catalog;
using SparkControl.Core.Disk;
using SparkControl.Core.Services;
using SparkControl.Core.Storage;
using SparkControl.Core.Swaps;
using SparkControl.Core.Yaml;
using SparkControl.Web.Components.Dialogs;

namespace SparkControl.Web.Components.Pages;

public partial class Models
{
    /// <summary>The element id of a model's row, so a link can lead to it (<c>/models#model-qwen3-8b</c>).</summary>
    public static string RowAnchor(string id) => $"model-{id}";

    [Inject]
    public required Caller Caller { get; init; }

    private CatalogSnapshot _catalog = CatalogSnapshot.Empty;
    private ImmutableDictionary<string, ModelDiskUsage> _disk = ImmutableDictionary<string, ModelDiskUsage>.Empty;
    private bool _measuring;
    private SwapBoard _swaps = SwapBoard.Empty;
    private FleetHealth? _health;
    private string? _search;

    [Inject]
    public required ModelCatalog Catalog { get; init; }

    [Inject]
    public required CatalogStore Store { get; init; }

    [Inject]
    public required DiskSizeProbe Disk { get; init; }

    [Inject]
    public required SwapOrchestrator Swaps { get; init; }

    [Inject]
    public required HealthMonitor Health { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    protected override void OnInitialized()
    {
        Watch(Catalog.WatchAsync, update => _catalog = update.Value);
        Watch(Disk.WatchAsync, update => _disk = update.Value);
        Watch(Swaps.WatchAsync, update => _swaps = update.Value);
        Watch(Health.WatchAsync, update => _health = update.Value);
    }

    /// <summary>A model is loading somewhere already: its button waits for that swap.</summary>
    private bool IsBusy(ModelDefinition model) => _swaps.Active.Any(s => s.ModelId == model.Id);

    private string ServingOn(string id) =>
        string.Join(", ", _health?.Sparks.Where(s => s.Model?.ModelId == id).Select(s => $"{s.Spark} ({s.Model!.Status.ToString().ToLowerInvariant()})") ?? []);

    /// <summary>The search box: a model matches when its name, id, source, served name or an alias holds the text.</summary>
    private bool Matches(ModelDefinition model) =>
        string.IsNullOrWhiteSpace(_search)
        || new[] { model.DisplayName, model.Id, model.Source.ToString(), model.ServedName }.Concat(model.Aliases)
            .Any(text => text?.Contains(_search.Trim(), StringComparison.OrdinalIgnoreCase) == true);

    private async Task SwapAsync(ModelDefinition model)
    {
        if (await SwapDialog.AskAsync(Dialogs, model, null) is { } started)
        {
            Snackbar.Add($"Swap {started.Id} to {model.Id} started: follow it on the Dashboard.", Severity.Info);
        }
    }

    private IReadOnlyList<ModelDiskUsage> DiskFor(string id) =>
        [.. _disk.Values.Where(u => u.ModelId == id).OrderBy(u => u.Spark, StringComparer.Ordinal)];

    private Task AddHfAsync() => ShowAsync<AddHfModelDialog>("Add a Hugging Face model", []);

    private Task AddLocalAsync() => ShowAsync<AddLocalModelDialog>("Add a local model", []);

    private Task InstallNimAsync() => ShowAsync<NimInstallDialog>("Install a NIM", []);

    private Task DiscoverAsync() => ShowAsync<DiscoveryDialog>("Scan a Spark for local models", [], MaxWidth.Large);

    private Task EditFlagsAsync(ModelDefinition model) =>
        ShowAsync<FlagsDialog>($"vLLM flags of {model.DisplayName}", new DialogParameters<FlagsDialog> { { d => d.Model, model } }, MaxWidth.Large);

    private Task EditIdleAsync(ModelDefinition model) =>
        ShowAsync<IdleDialog>($"Idle unload of {model.DisplayName}", new DialogParameters<IdleDialog> { { d => d.Model, model } }, MaxWidth.Small);

    private Task EditAdaptersAsync(ModelDefinition model, string? spark = null, string? path = null) =>
        ShowAsync<AdaptersDialog>($"LoRA adapters of {model.DisplayName}",
            new DialogParameters<AdaptersDialog> { { d => d.Model, model }, { d => d.Spark, spark }, { d => d.Path, path } }, MaxWidth.Medium);

    private async Task ShowAsync<TDialog>(string title, DialogParameters parameters, MaxWidth width = MaxWidth.Medium)
        where TDialog : IComponent
    {
        // Every dialog opened here changes the catalog: an admin's work.
        if (!Caller.May(AccessRole.Admin))
        {
            Snackbar.Add($"Changing models {Caller.WhyNot(AccessRole.Admin)}.", Severity.Warning);
            return;
        }

        var dialog = await Dialogs.ShowAsync<TDialog>(title, parameters, new DialogOptions { MaxWidth = width, FullWidth = true });
        switch (await dialog.Result)
        {
            case { Canceled: false, Data: string message }:
                Snackbar.Add(message, Severity.Success);
                break;
            case { Canceled: false, Data: AttachAdapterRequest attach } when Catalog.Current.Find(attach.ModelId) is { } model:
                // The local-model form found an adapter: its base model's adapters dialog takes it from here.
                await EditAdaptersAsync(model, attach.Spark, attach.Path);
                break;
        }
    }

    private async Task RemoveAsync(ModelDefinition model)
    {
        if (!Caller.May(AccessRole.Admin))
        {
            return;
        }

        if (!await ConfirmDialog.AskAsync(Dialogs, $"Delete {model.Id}?", "The catalog entry goes away. Nothing on any Spark is deleted.", "Delete", Color.Error))
        {
            return;
        }

        try
        {
            await Store.RemoveAsync(model.Id, CatalogStore.Version(model), ComponentToken);
            Caller.Audit("model.remove", model.Id);
            Snackbar.Add($"Deleted {model.Id}.", Severity.Info);
        }
        catch (Exception ex) when (ex is StaleVersionException or SettingsConflictException or KeyNotFoundException or ConfigFileException or DataDirectoryException)
        {
            Snackbar.Add(ex.Message, Severity.Error);
        }
    }

    private async Task RefreshSizesAsync()
    {
        _measuring = true;
        try
        {
            await Disk.MeasureAllAsync(ComponentToken);
        }
        finally
        {
            _measuring = false;
        }
    }
}
