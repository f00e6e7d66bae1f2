using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Web;
using SparkControl.Web.Model;
using SparkControl.Core.Catalog;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Components.Dialogs;

public partial class AddHfModelDialog
{
    [Inject]
    public required Caller Caller { get; init; }

    private MudForm? _form;
    private bool _valid;
    private bool _saving;
    private string? _repo;
    private string? _revision;
    private string? _id;
    private string? _servedName;
    private List<string> _errors = [];

    /// <summary>The model the operator agreed to add a second copy of; a copy of any other stays refused.</summary>
    private string? _copyOf;

    /// <summary>Adding goes ahead: the weights are new, or the operator asked for a copy of the model that has them.</summary>
    private bool CopyAgreed => Existing is not { } existing || _copyOf == existing.Id;

    /// <summary>What the form says as soon as the repo (and revision) are ones a model already has, and which model.</summary>
    private (HuggingFaceSource Source, string Id)? Existing
    {
        get
        {
            if (Validators.HfRepoId(_repo) is not null || (!string.IsNullOrEmpty(_revision) && Validators.HfRevision(_revision) is not null))
            {
                return null;
            }

            var source = new HuggingFaceSource(_repo!, string.IsNullOrEmpty(_revision) ? null : _revision);
            return Catalog.Current.FindSameSource(source) is { } model ? (source, model.Id) : null;
        }
    }

    [Inject]
    public required ModelCatalog Catalog { get; init; }

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Inject]
    public required ModelRegistrar Registrar { get; init; }

    private async Task SaveAsync()
    {
        _saving = true;
        _errors = [];
        try
        {
            var (model, _) = await Registrar.AddAsync(new ModelInput.AddModelBody("hf", _repo, _revision, null, null, _id, _servedName, Existing is not null && CopyAgreed), CancellationToken.None);
            Caller.Audit("model.add", model.Id, $"{_repo} from the panel");
            Dialog.Close(DialogResult.Ok($"Added {model.Id} ({_repo})."));
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
