using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Access;
using SparkControl.Core.Nim;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Dialogs;

/// <summary>
/// Installs a NIM container through the same installer and rules as <c>POST /api/nim</c>, then follows it live: the
/// pull's layers, the first start (the swap to it, or its own service container) and readiness.
/// </summary>
public sealed partial class NimInstallDialog : IDisposable
{
    private string? _spark;
    private string? _image;
    private string? _servedName;
    private int _port = 8000;
    private string? _cacheDir;
    private double _memory = 24;
    private bool _registerModel = true;
    private bool _registerService;
    private bool _busy;
    private List<string> _errors = [];
    private Dictionary<string, string> _fieldErrors = [];
    private NimInstallStatus? _install;

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Inject]
    public required NimInstaller Installer { get; init; }

    [Inject]
    public required SparkFleet Fleet { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    protected override void OnInitialized()
    {
        _spark = Fleet.Current.Sparks.FirstOrDefault()?.Name;
        Installer.Changed += OnChanged;
    }

    private NimInstallRequest Request => new()
    {
        Spark = _spark ?? string.Empty,
        Image = _image ?? string.Empty,
        ServedName = _servedName ?? string.Empty,
        Port = _port,
        CacheDir = string.IsNullOrEmpty(_cacheDir) ? null : _cacheDir,
        MemoryEstimateGiB = _memory,
        RegisterModel = _registerModel,
        RegisterService = _registerService,
    };

    /// <summary>The error the shared rules give a field, once the operator has typed into it.</summary>
    private string? FieldError(string field, object? typed) =>
        typed is null or "" ? null : NimInstallRequest.Validate(Request, Fleet.Current).FirstOrDefault(e => e.Field == field)?.Message ?? _fieldErrors.GetValueOrDefault(field);

    private void ImageChanged(string? image)
    {
        _image = string.IsNullOrEmpty(image) ? null : image.Trim();
        // The served name NIM uses by default is the model's NGC name; offer it until the operator types their own.
        if (_image is not null && string.IsNullOrEmpty(_servedName) && SparkControl.Core.Sparks.SparkValidation.ImageReference(_image) is null)
        {
            _servedName = NimInstallRequest.RepoOf(_image).Split('/')[^1];
        }
    }

    private bool CanInstall => !_busy && _install is null && NimInstallRequest.Validate(Request, Fleet.Current).Count == 0;

    private async Task InstallAsync()
    {
        if (!CanInstall)
        {
            return;
        }

        // A model install ends in a swap: whatever the Spark serves stops once the image is pulled.
        if (_registerModel && !await ConfirmDialog.AskAsync(Dialogs, "Install and swap", $"Install {_image} and swap {_spark} to {_servedName}?", "Install", Color.Primary,
                $"Once the image is pulled, the model {_spark} serves now stops and {_servedName} starts in its place. Nothing stops before the checks pass and the pull ends."))
        {
            return;
        }

        _busy = true;
        _errors = [];
        _fieldErrors = [];
        try
        {
            Caller.Demand(AccessRole.Admin);
            var started = await Installer.StartAsync(Request, Caller.Actor, CancellationToken.None);
            _install = Installer.Find(started.Id) ?? started;
            Caller.Audit("nim.install", started.Request.ModelId, $"{started.Request.Image} on {started.Request.Spark}");
        }
        catch (ValidationFailedException ex)
        {
            _fieldErrors = ex.Errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.First().Message);
            _errors = [.. ex.Errors.Select(e => e.Message)];
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

    private void OnChanged(NimInstallStatus status)
    {
        if (status.Id == _install?.Id)
        {
            _ = InvokeAsync(() =>
            {
                _install = status;
                StateHasChanged();
            });
        }
    }

    private double PullPercent => _install is { LayersTotal: > 0 } install ? 100.0 * install.LayersDone / install.LayersTotal : 0;

    private void Close() => Dialog.Close(_install is { Phase: NimInstallPhase.Ready } ready ? DialogResult.Ok($"{ready.Request.ServedName} is installed and ready on {ready.Request.Spark}.") : DialogResult.Cancel());

    public void Dispose() => Installer.Changed -= OnChanged;
}
