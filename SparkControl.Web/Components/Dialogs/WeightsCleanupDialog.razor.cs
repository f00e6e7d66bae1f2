using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Disk;
using SparkControl.Core.Units;

namespace SparkControl.Web.Components.Dialogs;

/// <summary>The last look before weights are deleted: every folder with its size, and the total.</summary>
public partial class WeightsCleanupDialog
{
    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Parameter, EditorRequired]
    public string Spark { get; set; } = string.Empty;

    [Parameter, EditorRequired]
    public IReadOnlyList<HfCacheFolder> Folders { get; set; } = [];

    private long TotalBytes => Folders.Sum(f => f.FreedByDeleting);

    internal static string Size(long? bytes) => bytes is { } value ? ByteSize.Human(value) : "size unknown";

    private void Cancel() => Dialog.Cancel();

    private void Confirm() => Dialog.Close(DialogResult.Ok(true));

    /// <summary>Asks and returns whether the operator confirmed.</summary>
    public static async Task<bool> AskAsync(IDialogService dialogs, string spark, IReadOnlyList<HfCacheFolder> folders)
    {
        var parameters = new DialogParameters<WeightsCleanupDialog> { { d => d.Spark, spark }, { d => d.Folders, folders } };
        var reference = await dialogs.ShowAsync<WeightsCleanupDialog>($"Delete weights on {spark}?", parameters, new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true });
        var result = await reference.Result;
        return result is { Canceled: false };
    }
}
