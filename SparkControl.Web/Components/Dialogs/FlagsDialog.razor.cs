using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Catalog;
using SparkControl.Core.Storage;
using SparkControl.Core.Disk;
using SparkControl.Core.Sparks;
using SparkControl.Web.Model;
using SparkControl.Core.Launch;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Components.Dialogs;

/// <summary>Edits a model's vLLM flags with the API's validators and a live preview of the exact launch command.</summary>
public partial class FlagsDialog
{
    [Inject]
    public required Caller Caller { get; init; }

    private FlagsForm _form = new();
    private IReadOnlyList<FieldError> _errors = [];
    private IReadOnlyList<string> _warnings = [];
    private List<string> _sparks = [];
    private string? _spark;
    private string _preview = string.Empty;
    private string? _conflict;
    private string _version = string.Empty;
    private bool _saving;

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Parameter, EditorRequired]
    public ModelDefinition Model { get; set; } = null!;

    [Inject]
    public required CatalogStore Store { get; init; }

    [Inject]
    public required LaunchPlanner Planner { get; init; }

    [Inject]
    public required SparkFleet Fleet { get; init; }

    protected override async Task OnInitializedAsync()
    {
        _sparks = [.. DiskSizeProbe.SparksFor(Model, Fleet.Current).Select(s => s.Name)];
        _spark = _sparks.FirstOrDefault();
        Load(Model);
        await RefreshAsync();
    }

    private void Load(ModelDefinition model)
    {
        _form = FlagsForm.From(model.Flags);
        _version = CatalogStore.Version(model);
        _conflict = null;
    }

    private bool Has(string field) => _errors.For(field) is not null;

    private string? ErrorOf(string field) => _errors.For(field);

    private async Task Set(Action change)
    {
        change();
        await RefreshAsync();
    }

    /// <summary>Validates as the API would and rebuilds the preview from the same planner the swap uses.</summary>
    private async Task RefreshAsync()
    {
        _errors = _form.Read(out var flags);
        if (_errors.Count > 0)
        {
            _preview = "(fix the flags above to see the command)";
            return;
        }

        if (_spark is null || Fleet.Current.Find(_spark) is not { } spark)
        {
            _preview = "(no Spark can run this model)";
            return;
        }

        try
        {
            var plan = await Planner.PlanAsync(Model, spark, CancellationToken.None, flags);
            _preview = plan.CommandLine;
            _warnings = [.. plan.Blockers, .. plan.Warnings];
        }
        catch (Exception ex) when (ModelDialogs.Describe(ex) is { } messages)
        {
            _preview = string.Join("; ", messages);
        }
    }

    private async Task SaveAsync()
    {
        // A click can arrive before the re-render that disabled Save (the field's change and the click race): read again.
        _errors = _form.Read(out var flags);
        if (_errors.Count > 0)
        {
            return;
        }

        _saving = true;
        try
        {
            await Store.UpdateFlagsAsync(Model.Id, flags, _version, CancellationToken.None);
            Caller.Audit("model.flags", Model.Id);
            Dialog.Close(DialogResult.Ok($"Saved the flags of {Model.Id}."));
        }
        catch (StaleVersionException ex)
        {
            _conflict = ex.Message;
        }
        catch (Exception ex) when (ModelDialogs.Describe(ex) is { } messages)
        {
            _conflict = string.Join("; ", messages);
        }
        finally
        {
            _saving = false;
        }
    }

    private async Task ReloadAsync()
    {
        if (Store.Current.Find(Model.Id) is { } current)
        {
            Model = current;
            Load(current);
            await RefreshAsync();
        }
    }
}
