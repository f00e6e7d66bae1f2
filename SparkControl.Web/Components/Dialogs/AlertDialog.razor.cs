using System.Globalization;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Operations;
using SparkControl.Core.Validation;
using SparkControl.Web.Model;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Dialogs;

/// <summary>Adds or edits an alert webhook; the address is write-only (left empty on edit, it is kept).</summary>
public partial class AlertDialog
{
    private readonly HashSet<string> _kinds = new(StringComparer.Ordinal);
    private string? _name;
    private string? _url;
    private string _format = "json";
    private string? _diskPercent;
    private string? _memoryPercent;
    private bool _saving;
    private List<string> _errors = [];

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Inject]
    public required AlertWebhooks Webhooks { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    /// <summary>The webhook being edited; null adds one.</summary>
    [Parameter]
    public AlertInput.AlertView? Original { get; set; }

    protected override void OnInitialized()
    {
        _name = Original?.Name;
        _format = Original?.Format ?? "json";
        _kinds.UnionWith(Original?.Kinds ?? AlertNames.Kinds);
        _diskPercent = (Original?.DiskPercent ?? AlertTarget.DefaultDiskPercent).ToString(CultureInfo.InvariantCulture);
        _memoryPercent = (Original?.MemoryPercent ?? AlertTarget.DefaultMemoryPercent).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>What is wrong with the typed thresholds, by the rules the API and alerts.yaml share.</summary>
    private IReadOnlyList<FieldError> PercentErrors => ReadPercents(out _, out _);

    private IReadOnlyList<FieldError> ReadPercents(out int disk, out int memory)
    {
        var errors = new List<FieldError>();
        int Percent(string? text, string field, int fallback)
        {
            errors.AddIf(field, Validators.WholeNumber(text, out var value, field) ?? (value is null ? $"{field} is required: a whole percent between 50 and 100" : null));
            return value ?? fallback;
        }

        disk = Percent(_diskPercent, "diskPercent", AlertTarget.DefaultDiskPercent);
        memory = Percent(_memoryPercent, "memoryPercent", AlertTarget.DefaultMemoryPercent);
        var ranges = AlertNames.Validate(new AlertTarget { Name = string.Empty, DiskPercent = disk, MemoryPercent = memory }).Where(e => e.Field is "diskPercent" or "memoryPercent");
        errors.AddRange(ranges.Where(e => errors.All(known => known.Field != e.Field)));
        return errors;
    }

    public static string Describe(string kind) => kind switch
    {
        "service-down" => "a service going down (and back up)",
        "swap-failed" => "a swap failing",
        "disk" => "a disk (/ or the HF cache) above its threshold",
        _ => "unified memory above its threshold",
    };

    private void Toggle(string kind, bool on)
    {
        if (on)
        {
            _kinds.Add(kind);
        }
        else
        {
            _kinds.Remove(kind);
        }
    }

    private async Task SaveAsync()
    {
        // A click can arrive before the re-render that disabled Save: thresholds that cannot be read are never saved.
        if (ReadPercents(out var disk, out var memory).Count > 0)
        {
            return;
        }

        _saving = true;
        _errors = [];
        try
        {
            var body = new AlertInput.AlertBody(_name, string.IsNullOrEmpty(_url) ? null : _url, _format, [.. AlertNames.Kinds.Where(_kinds.Contains)], disk, memory);
            var target = AlertInput.ToTarget(body, _name);
            var saved = Original is null
                ? await Webhooks.AddAsync(target, body.Url, CancellationToken.None)
                : await Webhooks.UpdateAsync(Original.Name, target, body.Url, CancellationToken.None);
            Caller.Audit("alert.save", saved.Name);
            Dialog.Close(DialogResult.Ok($"Saved the webhook {saved.Name}."));
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
