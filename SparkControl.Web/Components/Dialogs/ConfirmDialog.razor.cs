using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Web;

namespace SparkControl.Web.Components.Dialogs;

public partial class ConfirmDialog
{
    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Parameter, EditorRequired]
    public string Message { get; set; } = string.Empty;

    /// <summary>Shown verbatim in a monospace box (a fingerprint, a command).</summary>
    [Parameter]
    public string? Detail { get; set; }

    [Parameter]
    public string ConfirmText { get; set; } = "Confirm";

    [Parameter]
    public Color ConfirmColor { get; set; } = Color.Primary;

    private void Cancel() => Dialog.Cancel();

    private void Confirm() => Dialog.Close(DialogResult.Ok(true));

    /// <summary>Asks and returns whether the operator confirmed.</summary>
    public static async Task<bool> AskAsync(IDialogService dialogs, string title, string message, string confirmText, Color color = Color.Primary, string? detail = null)
    {
        var parameters = new DialogParameters<ConfirmDialog>
        {
            { d => d.Message, message },
            { d => d.Detail, detail },
            { d => d.ConfirmText, confirmText },
            { d => d.ConfirmColor, color },
        };
        var reference = await dialogs.ShowAsync<ConfirmDialog>(title, parameters, new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true });
        var result = await reference.Result;
        return result is { Canceled: false };
    }
}
