using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Catalog;
using SparkControl.Core.Disk;
using SparkControl.Core.Sparks;
using SparkControl.Web.Model;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Components.Dialogs;

public sealed partial class AddLocalModelDialog : IDisposable
{
    [Inject]
    public required Caller Caller { get; init; }

    [Inject]
    public required ModelCopier Copier { get; init; }

    /// <summary>With "On both Sparks": the check across them, and the copy that mends a directory on one of them only.</summary>
    private ClusterCheck? _cluster;
    private ModelCopyStatus? _copy;

    private MudForm? _form;
    private bool _valid;
    private bool _busy;
    private string? _spark;
    private string? _path;
    private string? _id;
    private string? _servedName;
    private LocalModelCheck? _check;
    private bool _onBoth;

    /// <summary>A model may span the Sparks when one of them has launch-cluster settings with two nodes.</summary>
    private bool CanSpanBoth => Fleet.Current.Sparks.Any(s => s.Definition.LaunchCluster is { Nodes.Count: > 1 });

    /// <summary>For an adapter: the model to serve it with (the one it was trained on, when the catalog has it).</summary>
    private string? _adapterBase;
    private List<string> _errors = [];

    /// <summary>The model the operator agreed to add a second copy of; a copy of any other stays refused.</summary>
    private string? _copyOf;

    /// <summary>What the form says as soon as the directory is one a model already has (the check also follows links), and which model.</summary>
    private (LocalSource Source, string Id)? Existing
    {
        get
        {
            if (_spark is null || PathError(_path) is not null)
            {
                return null;
            }

            var typed = new LocalSource(_spark, _path!);
            var model = Catalog.Current.FindSameSource(typed) ?? (_check?.RealPath is { } real ? Catalog.Current.FindSameSource(typed with { Path = real }) : null);
            return model is null ? null : (typed, model.Id);
        }
    }

    /// <summary>Adding goes ahead: the directory is new, or the operator asked for a copy of the model that has it.</summary>
    private bool CopyAgreed => Existing is not { } existing || _copyOf == existing.Id;

    [Inject]
    public required ModelCatalog Catalog { get; init; }

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Inject]
    public required SparkFleet Fleet { get; init; }

    [Inject]
    public required ModelRegistrar Registrar { get; init; }

    /// <summary>Pre-fills the form (from discovery).</summary>
    [Parameter]
    public string? Spark { get; set; }

    [Parameter]
    public string? Path { get; set; }

    protected override void OnInitialized()
    {
        _spark = Spark ?? Fleet.Current.Sparks.FirstOrDefault()?.Name;
        _path = Path;
        Copier.Changed += OnCopyChanged;
    }

    /// <summary>As you type: an absolute, normalized path under the chosen Spark's roots.</summary>
    private string? ValidatePath(string? path)
    {
        _check = null;
        _cluster = null;
        return PathError(path);
    }

    private string? PathError(string? path)
    {
        var roots = Fleet.Current.Find(_spark ?? string.Empty)?.Definition.ModelRoots.ToList() ?? [];
        return Validators.PathUnderRoots(path, roots);
    }

    /// <summary>Checking needs a Spark and a path that passes the same validator the API uses.</summary>
    private bool CanCheck => _spark is not null && PathError(_path) is null;

    private async Task CheckAsync()
    {
        _busy = true;
        _errors = [];
        try
        {
            _check = await Registrar.CheckAsync(_spark!, _path!, CancellationToken.None);
            _adapterBase = _check.Kind == LocalModelKind.Adapter ? await TrainedOnAsync() : null;
            _cluster = _onBoth && _check.CanRegister ? await Registrar.CheckClusterAsync(_spark, _path!, CancellationToken.None) : null;
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

    /// <summary>The models that can serve an adapter, for the "serve it with" choice.</summary>
    private IEnumerable<ModelDefinition> AdapterBases => Catalog.Current.Models.Where(m => LoraAdapterInspector.CannotServe(m) is null);

    /// <summary>The catalog model the adapter was trained on, if there is one.</summary>
    private async Task<string?> TrainedOnAsync()
    {
        var entry = Fleet.Current.Find(_spark!)!;
        var adapter = await LoraAdapterInspector.InspectAsync(entry.Host, entry.Definition, _path!, null, CancellationToken.None);
        return AdapterBases.FirstOrDefault(m => adapter.BaseModel is not null && LoraAdapterInspector.Mismatch(adapter.BaseModel, m) is null)?.Id;
    }

    /// <summary>Hands the adapter to the chosen model's adapters dialog, which checks it against that model and attaches it.</summary>
    private void AttachAdapter() => Dialog.Close(DialogResult.Ok(new AttachAdapterRequest(_adapterBase!, _spark!, _path!)));

    /// <summary>Spanning both Sparks asks more of the directory: it is checked again, on each of them.</summary>
    private void OnBothChanged(bool onBoth)
    {
        _onBoth = onBoth;
        _check = null;
        _cluster = null;
    }

    /// <summary>A model on both Sparks is added once the check across them passes.</summary>
    private bool ClusterReady => !_onBoth || _cluster is { Problems.Count: 0 };

    private async Task CopyAsync()
    {
        _busy = true;
        _errors = [];
        try
        {
            Caller.Demand(AccessRole.Admin);
            var started = await Copier.StartAsync(_cluster!.CopyFrom, _cluster.CopyTo, _path, Caller.Actor, CancellationToken.None);
            Caller.Audit("model.copy", started.Path, $"{started.From} to {started.To} over {started.Link}");
            _copy = Copier.Find(started.Id) ?? started;
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

    private void OnCopyChanged(ModelCopyStatus status)
    {
        if (status.Id != _copy?.Id)
        {
            return;
        }

        _ = InvokeAsync(async () =>
        {
            _copy = status;
            StateHasChanged();
            if (status.Phase == ModelCopyPhase.Done)
            {
                // The copy is only as good as the check that follows it.
                await CheckAsync();
                StateHasChanged();
            }
        });
    }

    public void Dispose() => Copier.Changed -= OnCopyChanged;

    private async Task SaveAsync()
    {
        _busy = true;
        _errors = [];
        try
        {
            var (model, _) = await Registrar.AddAsync(new ModelInput.AddModelBody("local", null, null, _spark, _path, _id, _servedName, Existing is not null && CopyAgreed, _onBoth ? "cluster" : null), CancellationToken.None);
            Caller.Audit("model.add", model.Id, $"{_spark}:{_path} from the panel");
            Dialog.Close(DialogResult.Ok($"Added {model.Id} ({_spark}:{_path})."));
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
