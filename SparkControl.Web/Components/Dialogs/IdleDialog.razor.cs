using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Catalog;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Dialogs;

/// <summary>Sets or clears a model's idle unload time, through the same store and rules as <c>PUT /api/models/{id}/idle</c>.</summary>
public partial class IdleDialog
{
    private bool _enabled;
    private string? _minutes = "30";
    private bool _saving;
    private List<string> _errors = [];

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Parameter, EditorRequired]
    public ModelDefinition Model { get; set; } = null!;

    [Inject]
    public required CatalogStore Store { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    protected override void OnInitialized()
    {
        _enabled = Model.IdleUnloadAfter is not null;
        // A time set in whole seconds through the API shows rounded up here; it is kept unless Save changes it.
        _minutes = (Model.IdleUnloadAfter is { } after ? Math.Max(1, (int)Math.Ceiling(after.TotalMinutes)) : 30).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Why the typed minutes cannot be saved (1 minute to 30 days, within the store's range), or null; only asked while unloading is on.</summary>
    private string? MinutesError => _enabled ? ReadMinutes(out _) : null;

    private string? ReadMinutes(out int minutes)
    {
        minutes = 0;
        if (Validators.WholeNumber(_minutes, out var value, "minutes") is { } error)
        {
            return error;
        }

        if (value is not { } whole || whole is < 1 or > 43200)
        {
            return $"minutes must be a whole number from 1 to 43200 (30 days), not '{_minutes}'";
        }

        minutes = whole;
        return null;
    }

    private async Task SaveAsync()
    {
        // A click can arrive before the re-render that disabled Save: what cannot be read is never saved.
        var minutes = 0;
        if (_enabled && ReadMinutes(out minutes) is not null)
        {
            return;
        }

        _saving = true;
        _errors = [];
        try
        {
            var after = _enabled ? TimeSpan.FromMinutes(minutes) : (TimeSpan?)null;
            var saved = await Store.UpdateIdleAsync(Model.Id, after, CatalogStore.Version(Model), CancellationToken.None);
            Caller.Audit("model.idle", saved.Id);
            Dialog.Close(DialogResult.Ok(after is null ? $"{saved.Id} stays loaded however long it is unused." : $"{saved.Id} is unloaded after {minutes} min unused."));
        }
        catch (Exception ex) when (ModelDialogs.Describe(ex) is { } messages)
        {
            _errors = messages;
        }
        finally
        {
            _saving = false;
        }
    }
}
