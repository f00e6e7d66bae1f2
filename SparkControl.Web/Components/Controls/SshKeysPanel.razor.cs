using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using MudBlazor;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Components.Controls;

/// <summary>Uploads, lists and removes the SSH private keys Sparks log in with; a key's content never comes back.</summary>
public partial class SshKeysPanel
{
    [Inject]
    public required Caller Caller { get; init; }

    private IReadOnlyList<SshKeyInfo> _keys = [];
    private string? _name = "id_ed25519";
    private string? _error;

    [Inject]
    public required SshKeyStore Keys { get; init; }

    [Inject]
    public required SparkSettingsStore Sparks { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    protected override void OnInitialized() => _keys = Keys.List();

    private static string? ValidateName(string? name) => Validators.Name(name, "key name");

    private string UsedBy(SshKeyInfo key) =>
        string.Join(", ", Sparks.Current.Sparks.Where(s => s.KeyPath == key.Path).Select(s => s.Name)) is { Length: > 0 } users ? $"used by {users}" : string.Empty;

    private async Task UploadAsync(IBrowserFile? file)
    {
        _error = null;
        if (file is null || _name is null)
        {
            return;
        }

        if (file.Size > SshKeyFiles.MaxKeyBytes)
        {
            _error = $"{file.Name} is {file.Size:N0} bytes; a private key is at most {SshKeyFiles.MaxKeyBytes / 1024} KiB.";
            return;
        }

        try
        {
            using var reader = new StreamReader(file.OpenReadStream(SshKeyFiles.MaxKeyBytes));
            var saved = await Keys.SaveAsync(_name, await reader.ReadToEndAsync(), CancellationToken.None);
            Caller.Audit("ssh-key.save", saved.Name);
            Snackbar.Add($"Saved the key {saved.Name} ({saved.Path}).", Severity.Success);
            _keys = Keys.List();
        }
        catch (ValidationFailedException ex)
        {
            _error = string.Join("; ", ex.Errors.Select(e => e.Message));
        }
        catch (IOException ex)
        {
            _error = ex.Message;
        }
    }

    private async Task RemoveAsync(SshKeyInfo key)
    {
        if (!await ConfirmDialog.AskAsync(Dialogs, "Remove SSH key", $"Delete the private key {key.Name} ({key.Path})? It cannot be shown or restored from here.", "Remove", Color.Error))
        {
            return;
        }

        try
        {
            Keys.Remove(key.Name);
            Caller.Audit("ssh-key.remove", key.Name);
            _keys = Keys.List();
        }
        catch (IOException ex)
        {
            _error = ex.Message;
        }
    }
}
