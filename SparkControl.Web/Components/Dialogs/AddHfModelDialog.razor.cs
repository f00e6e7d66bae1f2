using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Web;
using SparkControl.Web.Model;

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
            var (model, _) = await Registrar.AddAsync(new ModelInput.AddModelBody("hf", _repo, _revision, null, null, _id, _servedName), CancellationToken.None);
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
