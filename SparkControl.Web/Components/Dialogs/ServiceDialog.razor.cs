using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Secrets;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;
using SparkControl.Web;
using SparkControl.Web.Model;

namespace SparkControl.Web.Components.Dialogs;

public partial class ServiceDialog
{
    [Inject]
    public required Caller Caller { get; init; }

    private static readonly HashSet<string> FieldsOnForm =
        ["spark", "kind", "name", "container", "port", "grpcPort", "apiKey", "healthPath", "url", "memoryLimit", "memoryEstimateGiB", "models", "maxInFlight", "links"];

    private bool _saving;

    /// <summary>What is wrong with the form as typed; Save stays disabled while there is anything.</summary>
    private IReadOnlyList<FieldError> _errors = [];

    /// <summary>Why the last save was refused by the store (a conflict, a name taken, the data directory).</summary>
    private List<string> _saveErrors = [];

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Inject]
    public required ServiceSettingsStore Store { get; init; }

    [Inject]
    public required MemoryCapCheck MemoryCaps { get; init; }

    [Inject]
    public required SecretStore Secrets { get; init; }

    /// <summary>A Qdrant service's API key as typed: write-only, never read back into the form; empty keeps the one set.</summary>
    private string? _apiKey;

    private bool IsQdrant => Model.Kind == ServiceKind.Qdrant.ToYaml();

    /// <summary>Its read-only key, the same way: what the panel sends when it only reads (search, listings).</summary>
    private string? _readOnlyApiKey;

    private bool IsSet(string secret) => Secrets.List().Any(s => s.Name == secret && s.IsSet);

    private bool ApiKeySet => IsSet(SecretStore.QdrantApiKeyFor(Model.Spark, Model.Name.Trim()));

    private bool ReadOnlyApiKeySet => IsSet(SecretStore.QdrantReadOnlyApiKeyFor(Model.Spark, Model.Name.Trim()));

    private string? ApiKeyError => string.IsNullOrEmpty(_apiKey) ? null : SecretStore.ValidateValue(_apiKey);

    private string? ReadOnlyApiKeyError => string.IsNullOrEmpty(_readOnlyApiKey) ? null : SecretStore.ValidateValue(_readOnlyApiKey);

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

    protected override void OnInitialized()
    {
        // A new service starts empty: its fields are marked once something is typed, or when Save is clicked.
        if (OriginalKey is not null)
        {
            _errors = Model.Read(out _);
        }
    }

    private static bool ShownOnAField(string field) => FieldsOnForm.Contains(field);

    private void Set(Action change)
    {
        change();
        _errors = Model.Read(out _);
    }

    private async Task SaveAsync()
    {
        // A click can arrive before the re-render that disabled Save: read the form again, and save nothing it refuses.
        _errors = Model.Read(out var service);
        if (service is null || ApiKeyError is not null || ReadOnlyApiKeyError is not null)
        {
            return;
        }

        _saving = true;
        _saveErrors = [];
        try
        {
            // Secrets are the admin's (as the service definitions are): checked before anything is saved.
            Caller.Demand(AccessRole.Admin);
            if (await MemoryCaps.CheckAsync(service, CancellationToken.None) is { } tooLarge)
            {
                _errors = [tooLarge];
                return;
            }

            var saved = OriginalKey is null ? await Store.AddAsync(service, CancellationToken.None) : await Store.UpdateAsync(OriginalKey, service, OriginalVersion, CancellationToken.None);
            Caller.Audit("service.save", saved.Key);
            if (IsQdrant)
            {
                await SetSecretAsync(SecretStore.QdrantApiKeyFor(saved.Spark, saved.Name), _apiKey);
                await SetSecretAsync(SecretStore.QdrantReadOnlyApiKeyFor(saved.Spark, saved.Name), _readOnlyApiKey);
            }

            Dialog.Close(DialogResult.Ok($"Saved {saved.Key}."));
        }
        catch (Exception ex) when (ModelDialogs.Describe(ex) is { } messages)
        {
            _saveErrors = messages;
        }
        finally
        {
            _saving = false;
        }
    }

    /// <summary>Saves a typed key; an empty field keeps the key that is set.</summary>
    private async Task SetSecretAsync(string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            await Secrets.SetAsync(name, value, CancellationToken.None);
            Caller.Audit("secret.set", name);
        }
    }
}
