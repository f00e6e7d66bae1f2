using SparkControl.Web.Security;
using SparkControl.Core.Access;
using System.Collections.Immutable;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Yaml;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Web.Model;

namespace SparkControl.Web.Components.Controls;

/// <summary>The Sparks: add, edit, remove, test the connection and approve host keys, with live connection state.</summary>
public partial class SparksPanel
{
    [Inject]
    public required Caller Caller { get; init; }

    private SparkSettings _settings = SparkSettings.Empty;
    private ImmutableDictionary<string, SparkConnection> _connections = ImmutableDictionary<string, SparkConnection>.Empty;
    private ImmutableList<PendingHostKey> _pending = [];
    private SparkConnectionTest? _lastTest;
    private string? _testing;

    [Inject]
    public required SparkSettingsStore Settings { get; init; }

    [Inject]
    public required ConnectivityTracker Connectivity { get; init; }

    [Inject]
    public required HostKeyStore HostKeys { get; init; }

    [Inject]
    public required SparkConnectionTester Tester { get; init; }

    [Inject]
    public required SparkFleet Fleet { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    protected override void OnInitialized()
    {
        Watch(Settings.WatchAsync, update => _settings = update.Value);
        Watch(Connectivity.WatchAsync, update => _connections = update.Value);
        Watch(HostKeys.WatchPendingAsync, update => _pending = update.Value);
    }

    private SparkConnection? Connection(SparkDefinition spark) => _connections.GetValueOrDefault(spark.Name);

    private PendingHostKey? PendingKey(SparkDefinition spark) => _pending.FirstOrDefault(p => p.Host == spark.Host && p.Port == spark.Port);

    private async Task AddAsync() => await OpenDialogAsync("Add a Spark", new SparkForm(), null, null);

    // The version as opened: an edit of the same Spark elsewhere (another browser, the API, a hand edit) since then is
    // reported when saving instead of being overwritten.
    private async Task EditAsync(SparkDefinition spark) => await OpenDialogAsync($"Edit {spark.Name}", SparkForm.From(spark), spark.Name, Settings.Version(spark));

    private async Task OpenDialogAsync(string title, SparkForm form, string? originalName, string? originalVersion)
    {
        var parameters = new DialogParameters<SparkDialog> { { d => d.Model, form }, { d => d.OriginalName, originalName }, { d => d.OriginalVersion, originalVersion } };
        var dialog = await Dialogs.ShowAsync<SparkDialog>(title, parameters, new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true });
        if (await dialog.Result is { Canceled: false, Data: string name })
        {
            Caller.Audit("spark.save", name);
            Snackbar.Add($"Saved {name}. Test the connection to pin its host key.", Severity.Success);
        }
    }

    private async Task RemoveAsync(SparkDefinition spark)
    {
        if (!await ConfirmDialog.AskAsync(Dialogs, $"Remove {spark.Name}?", $"The panel stops managing {spark.Name}. Nothing on the Spark is stopped or deleted.", "Remove", Color.Error))
        {
            return;
        }

        try
        {
            await Settings.RemoveAsync(spark.Name, Settings.Version(spark), ComponentToken);
            Caller.Audit("spark.remove", spark.Name);
            Snackbar.Add($"Removed {spark.Name}.", Severity.Info);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or ConfigFileException or DataDirectoryException or StaleVersionException or SparkBusyException)
        {
            Snackbar.Add(ex.Message, Severity.Error);
        }
    }

    private async Task TestAsync(SparkDefinition spark)
    {
        _testing = spark.Name;
        try
        {
            _lastTest = await Tester.TestAsync(spark.Name, ComponentToken);
        }
        catch (KeyNotFoundException ex)
        {
            Snackbar.Add(ex.Message, Severity.Error);
        }
        finally
        {
            _testing = null;
        }
    }

    private async Task ApproveAsync(SparkDefinition spark, PendingHostKey pending)
    {
        var message = pending.PreviousFingerprint is null
            ? $"{spark.Name} ({spark.Host}:{spark.Port}) presented this {pending.KeyType} key. Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` run on the Spark itself before approving."
            : $"{spark.Name} presented a different key than the pinned {pending.PreviousFingerprint}. Approve only if the Spark was reinstalled and you checked the new key on it.";
        if (!await ConfirmDialog.AskAsync(Dialogs, "Approve host key", message, "Approve", pending.PreviousFingerprint is null ? Color.Primary : Color.Error, pending.Fingerprint))
        {
            return;
        }

        try
        {
            await HostKeys.ApproveAsync(pending.Host, pending.Port, pending.Fingerprint, ComponentToken);
            Caller.Audit("spark.host-key-approve", spark.Name, $"pinned {pending.Fingerprint} from the panel");
            Snackbar.Add($"Pinned {pending.Fingerprint} for {spark.Name}.", Severity.Success);
            _lastTest = await Tester.TestAsync(spark.Name, ComponentToken);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or DataDirectoryException)
        {
            Snackbar.Add(ex.Message, Severity.Error);
        }
    }
}
