using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Remote;
using SparkControl.Core.Services;
using SparkControl.Core.Units;
using SparkControl.Web;
using SparkControl.Web.Components.Dialogs;

namespace SparkControl.Web.Components.Controls;

public partial class LimitEditor
{
    [Inject]
    public required Caller Caller { get; init; }

    private string? _limit;
    private bool _busy;

    [Inject]
    public required ServiceActions Actions { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Parameter, EditorRequired]
    public string Spark { get; set; } = string.Empty;

    [Parameter, EditorRequired]
    public string Service { get; set; } = string.Empty;

    [Parameter]
    public long? Configured { get; set; }

    [Parameter]
    public EventCallback OnChanged { get; set; }

    /// <summary>The Spark's memory, once read: a cap above it is refused as it is typed (applying checks it again).</summary>
    private long? _sparkMemory;

    protected override async Task OnInitializedAsync()
    {
        try
        {
            _sparkMemory = (await Actions.Resolve(Spark, Service).Spark.Host.GetMemoryInfoAsync(CancellationToken.None)).TotalBytes;
        }
        catch (Exception ex) when (ex is KeyNotFoundException or SparkCommandException or SparkUnreachableException or RemoteCommandTimeoutException)
        {
            // Not known now: the cap is checked against the Spark's memory when it is applied.
        }
    }

    private string? Check(string? value) =>
        SparkControl.Core.Validation.Validators.MemoryLimit(value, out var bytes, "Memory cap")
        ?? (_sparkMemory is { } total ? SparkControl.Core.Validation.Validators.MemoryLimit(bytes, Spark, total, "Memory cap") : null);

    private async Task ApplyAsync()
    {
        // A click can arrive before the re-render that disabled Apply: a cap that cannot be read is never applied.
        if (Check(_limit) is not null)
        {
            return;
        }

        SparkControl.Core.Validation.Validators.MemoryLimit(_limit, out var bytes);
        if (!await ConfirmDialog.AskAsync(Dialogs, "Cap memory?", $"Cap {Service} on {Spark} at {ByteSize.Format(bytes)} with no swap. If it needs more, the kernel kills it.", "Apply", Color.Warning))
        {
            return;
        }

        _busy = true;
        try
        {
            Caller.Demand(AccessRole.Operator);
            var change = await Actions.SetMemoryLimitAsync(Spark, Service, bytes, Caller.AuditActor, CancellationToken.None);
            Snackbar.Add($"{Service}: memory cap {ByteSize.Format(change.AfterBytes ?? bytes)}, swap off.", Severity.Success);
            await OnChanged.InvokeAsync();
        }
        catch (Exception ex) when (ex is AccessRefusedException or SparkControl.Core.Validation.ValidationFailedException or SparkCommandException or SparkUnreachableException or RemoteCommandTimeoutException or KeyNotFoundException or SparkControl.Core.Storage.SettingsConflictException or SparkControl.Core.Storage.DataDirectoryException)
        {
            Snackbar.Add(ex.Message, Severity.Error);
        }
        finally
        {
            _busy = false;
        }
    }
}
