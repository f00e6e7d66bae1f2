using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Operations;
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
    private int _diskPercent = AlertTarget.DefaultDiskPercent;
    private int _memoryPercent = AlertTarget.DefaultMemoryPercent;
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
        _diskPercent = Original?.DiskPercent ?? AlertTarget.DefaultDiskPercent;
        _memoryPercent = Original?.MemoryPercent ?? AlertTarget.DefaultMemoryPercent;
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
        _saving = true;
        _errors = [];
        try
        {
            var body = new AlertInput.AlertBody(_name, string.IsNullOrEmpty(_url) ? null : _url, _format, [.. AlertNames.Kinds.Where(_kinds.Contains)], _diskPercent, _memoryPercent);
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
