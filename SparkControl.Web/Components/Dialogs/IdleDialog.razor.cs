using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Catalog;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Dialogs;

/// <summary>Sets or clears a model's idle unload time, through the same store and rules as <c>PUT /api/models/{id}/idle</c>.</summary>
public partial class IdleDialog
{
    private bool _enabled;
    private int _minutes = 30;
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
        _minutes = Model.IdleUnloadAfter is { } after ? Math.Max(1, (int)Math.Ceiling(after.TotalMinutes)) : 30;
    }

    private async Task SaveAsync()
    {
        _saving = true;
        _errors = [];
        try
        {
            var after = _enabled ? TimeSpan.FromMinutes(_minutes) : (TimeSpan?)null;
            var saved = await Store.UpdateIdleAsync(Model.Id, after, CatalogStore.Version(Model), CancellationToken.None);
            Caller.Audit("model.idle", saved.Id);
            Dialog.Close(DialogResult.Ok(after is null ? $"{saved.Id} stays loaded however long it is unused." : $"{saved.Id} is unloaded after {_minutes} min unused."));
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
