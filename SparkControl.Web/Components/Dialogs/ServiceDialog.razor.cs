using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Services;
using SparkControl.Web;
using SparkControl.Web.Model;

namespace SparkControl.Web.Components.Dialogs;

public partial class ServiceDialog
{
    [Inject]
    public required Caller Caller { get; init; }

    private bool _saving;
    private List<string> _errors = [];

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Inject]
    public required ServiceSettingsStore Store { get; init; }

    [Parameter, EditorRequired]
    public ServiceForm Model { get; set; } = new();

    [Parameter, EditorRequired]
    public IReadOnlyList<string> Sparks { get; set; } = [];

    /// <summary>"spark/name" of the service being edited; null adds one.</summary>
    [Parameter]
    public string? OriginalKey { get; set; }

    /// <summary>The service's version when the dialog opened: saving over a newer one is refused, not silent.</summary>
    [Parameter]
    public string? OriginalVersion { get; set; }

    private async Task SaveAsync()
    {
        _saving = true;
        _errors = [];
        try
        {
            var service = ServiceInput.ToDefinition(Model.ToBody());
            var saved = OriginalKey is null ? await Store.AddAsync(service, CancellationToken.None) : await Store.UpdateAsync(OriginalKey, service, OriginalVersion, CancellationToken.None);
            Caller.Audit("service.save", saved.Key);
            Dialog.Close(DialogResult.Ok($"Saved {saved.Key}."));
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
