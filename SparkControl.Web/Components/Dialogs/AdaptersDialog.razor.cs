using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Access;
using SparkControl.Core.Catalog;
using SparkControl.Core.Launch;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;
using SparkControl.Web.Model;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Dialogs;

/// <summary>An adapter found by the local-model form, to attach to <paramref name="ModelId"/> in its adapters dialog.</summary>
public sealed record AttachAdapterRequest(string ModelId, string Spark, string Path);

/// <summary>
/// A model's LoRA adapters: the ones attached, and a form to attach one, through the same registrar and checks as
/// <c>POST /api/models/{id}/adapters</c>; the command preview shows the launch with the new adapter before it is saved.
/// </summary>
public partial class AdaptersDialog
{
    private string? _spark;
    private string? _path;
    private string? _name;
    private LoraAdapterCheck? _check;
    private bool _confirmMismatch;
    private string? _preview;
    private bool _busy;
    private List<string> _errors = [];

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Parameter, EditorRequired]
    public ModelDefinition Model { get; set; } = null!;

    [Inject]
    public required AdapterRegistrar Adapters { get; init; }

    [Inject]
    public required SparkFleet Fleet { get; init; }

    [Inject]
    public required LaunchPlanner Planner { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    /// <summary>Pre-fills the attach form (from the local-model form, which found an adapter) and checks it at once.</summary>
    [Parameter]
    public string? Spark { get; set; }

    [Parameter]
    public string? Path { get; set; }

    protected override async Task OnInitializedAsync()
    {
        _spark = Spark ?? Fleet.Current.Sparks.FirstOrDefault()?.Name;
        if (Path is not null)
        {
            _path = Path;
            await CheckAsync();
        }
    }

    private string? PathError => _path is null ? null : LoraAdapter.CheckPath(_path);

    private string? NameError => string.IsNullOrEmpty(_name) ? null : Validators.ServedName(_name, "name");

    private bool CanAttach => !_busy && _check is { CanAttach: true } check && (check.BaseMismatch is null || _confirmMismatch) && NameError is null;

    private void PathChanged(string? path)
    {
        // A check answers for the directory it was made on only.
        _path = string.IsNullOrEmpty(path) ? null : path;
        _check = null;
        _preview = null;
        _confirmMismatch = false;
    }

    private async Task CheckAsync()
    {
        await RunAsync(async () =>
        {
            _check = await Adapters.CheckAsync(Model.Id, new AdapterCheckBody(_spark, _path), CancellationToken.None);
            _preview = null;
            if (_check.CanAttach && Fleet.Current.Find(_spark!) is { } spark)
            {
                var adapter = new LoraAdapter(string.IsNullOrEmpty(_name) ? ModelIds.Derive(_path!) : _name, spark.Name, _path!, _check.Rank!.Value, _check.BaseModel);
                var plan = await Planner.PlanAsync(Model with { Adapters = Model.Adapters.Add(adapter) }, spark, CancellationToken.None);
                _preview = plan.CommandLine;
            }
        });
    }

    private async Task AttachAsync()
    {
        // A click can arrive before the re-render that disabled Attach.
        if (!CanAttach)
        {
            return;
        }

        await RunAsync(async () =>
        {
            Caller.Demand(AccessRole.Admin);
            var change = await Adapters.AttachAsync(Model.Id, new AdapterBody(_name, _spark, _path, _confirmMismatch), CatalogStore.Version(Model), Requester, CancellationToken.None);
            Caller.Audit("model.adapter.attach", Model.Id, $"{change.Model.Adapters[change.Model.Adapters.Count - 1].Name} from {_spark}:{_path}");
            Dialog.Close(DialogResult.Ok(change.Notice ?? $"The adapter is attached to {Model.Id}; it is served from the model's next start."));
        });
    }

    private async Task RemoveAsync(LoraAdapter adapter)
    {
        if (!await ConfirmDialog.AskAsync(Dialogs, "Remove adapter", $"Stop serving {adapter.Name} with {Model.Id}?", "Remove", Color.Error,
                "Clients asking for it get 'model not found' once the model starts again without it. The directory on the Spark is kept."))
        {
            return;
        }

        await RunAsync(async () =>
        {
            Caller.Demand(AccessRole.Admin);
            var change = await Adapters.DetachAsync(Model.Id, adapter.Name, CatalogStore.Version(Model), Requester, CancellationToken.None);
            Caller.Audit("model.adapter.detach", Model.Id, adapter.Name);
            Dialog.Close(DialogResult.Ok(change.Notice ?? $"{adapter.Name} is no longer attached to {Model.Id}."));
        });
    }

    private SwapRequester Requester => new(Caller.Actor, Caller.Address);

    private async Task RunAsync(Func<Task> work)
    {
        _busy = true;
        _errors = [];
        try
        {
            await work();
        }
        catch (Exception ex) when (ModelDialogs.Describe(ex) is { } messages)
        {
            _errors = messages;
        }
        finally
        {
            _busy = false;
        }
    }
}
