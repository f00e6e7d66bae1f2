using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Yaml;
using SparkControl.Web.Model;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Components.Dialogs;

/// <summary>Adds or edits a Spark: validated as you type with the API's validators, saved through the same store.</summary>
public partial class SparkDialog
{
    private MudForm? _form;
    private bool _valid;
    private bool _saving;
    private List<string> _errors = [];

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Inject]
    public required SparkSettingsStore Settings { get; init; }

    [Inject]
    public required Core.Remote.SshKeyStore Keys { get; init; }

    private IReadOnlyList<Core.Remote.SshKeyInfo> _keys = [];

    protected override void OnInitialized() => _keys = Keys.List();

    private string? ValidateKeyPath(string? value) =>
        string.IsNullOrEmpty(value) ? "a key is needed to log in: upload one under SSH keys" : Keys.CheckLocation(value, "key path");

    [Parameter, EditorRequired]
    public SparkForm Model { get; set; } = new();

    /// <summary>The Spark being edited; null adds a new one.</summary>
    [Parameter]
    public string? OriginalName { get; set; }

    /// <summary>The Spark's version when the dialog opened: saving over a newer one is refused, not silent.</summary>
    [Parameter]
    public string? OriginalVersion { get; set; }

    private void Cancel() => Dialog.Cancel();

    private async Task SaveAsync()
    {
        if (_form is not null)
        {
            await _form.ValidateAsync();
            if (!_form.IsValid)
            {
                return;
            }
        }

        _saving = true;
        _errors = [];
        try
        {
            var spark = SparkInput.ToDefinition(Model.ToBody());
            var saved = OriginalName is null
                ? await Settings.AddAsync(spark, CancellationToken.None)
                : await Settings.UpdateAsync(OriginalName, spark, OriginalVersion, CancellationToken.None);
            Dialog.Close(DialogResult.Ok(saved.Name));
        }
        catch (ValidationFailedException ex)
        {
            _errors = [.. ex.Errors.Select(e => e.Message)];
        }
        catch (Exception ex) when (ex is SettingsConflictException or StaleVersionException or SparkBusyException or KeyNotFoundException or ConfigFileException or DataDirectoryException)
        {
            _errors = [ex.Message];
        }
        finally
        {
            _saving = false;
        }
    }
}
