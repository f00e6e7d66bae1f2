using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Operations;
using SparkControl.Core.Secrets;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Web.Components.Dialogs;

namespace SparkControl.Web.Components.Controls;

/// <summary>Sets and removes secrets; a value typed here is sent once and cleared from the form.</summary>
public partial class SecretsPanel
{
    [Inject]
    public required Caller Caller { get; init; }

    private readonly Dictionary<string, string?> _drafts = [];
    private IReadOnlyList<SecretInfo> _secrets = [];

    [Inject]
    public required SecretStore Secrets { get; init; }

    [Inject]
    public required SparkSettingsStore Sparks { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    protected override void OnInitialized() => Refresh();

    private void Refresh()
    {
        // Every configured Spark gets a passphrase slot, whether its key has one or not.
        var known = Secrets.List().ToDictionary(s => s.Name);
        foreach (var spark in Sparks.Current.Sparks)
        {
            var name = SecretStore.PassphraseFor(spark.Name);
            known.TryAdd(name, new SecretInfo(name, false, null));
        }

        _secrets = [.. known.Values];
        foreach (var secret in _secrets)
        {
            _drafts.TryAdd(secret.Name, null);
        }
    }

    private static string Describe(string name) => name switch
    {
        SecretStore.HfToken => "Hugging Face token for gated models",
        SecretStore.NgcApiKey => "NGC API key for NIM containers",
        _ when name.StartsWith(AlertTarget.SecretName(string.Empty), StringComparison.Ordinal) => $"address of the alert webhook {name[AlertTarget.SecretName(string.Empty).Length..]}",
        _ => $"passphrase of the SSH key of {name[SecretStore.PassphrasePrefix.Length..]}",
    };

    /// <summary>Why the typed value cannot be saved, shown on its field; nothing typed yet is not an error.</summary>
    private string? DraftError(string name) =>
        _drafts.GetValueOrDefault(name) is { Length: > 0 } value ? SecretStore.ValidateValue(value) : null;

    private async Task SaveAsync(string name)
    {
        var value = _drafts.GetValueOrDefault(name);
        if (SecretStore.ValidateValue(value) is { } error)
        {
            Snackbar.Add(error, Severity.Warning);
            return;
        }

        try
        {
            await Secrets.SetAsync(name, value!, CancellationToken.None);
            Caller.Audit("secret.set", name);
            Snackbar.Add($"Saved {name}.", Severity.Success);
        }
        catch (DataDirectoryException ex)
        {
            Snackbar.Add(ex.Message, Severity.Error);
        }
        finally
        {
            _drafts[name] = null;
            Refresh();
        }
    }

    private async Task RemoveAsync(string name)
    {
        if (!await ConfirmDialog.AskAsync(Dialogs, $"Remove {name}?", "Containers started later will not get it.", "Remove", Color.Error))
        {
            return;
        }

        try
        {
            await Secrets.RemoveAsync(name, CancellationToken.None);
            Caller.Audit("secret.remove", name);
        }
        catch (DataDirectoryException ex)
        {
            Snackbar.Add(ex.Message, Severity.Error);
        }

        Refresh();
    }
}
