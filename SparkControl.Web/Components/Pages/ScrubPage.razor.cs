using Microsoft.AspNetCore.Components;
using SparkControl.Core.Access;
using SparkControl.Core.Audio.Scrub;
using SparkControl.Core.Audio.Transcripts;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Pages;

/// <summary>Scrubs a pasted text, shows a scrub task (<c>?task=</c>, as a transcript's page sends), and keeps the names list.</summary>
public sealed partial class ScrubPage : IDisposable
{
    private readonly CancellationTokenSource _closed = new();
    private string? _text;
    private string? _names;
    private string? _namesNote;
    private string? _error;
    private bool _busy;
    private ScrubTask? _task;

    [Inject]
    public required ScrubTasks Tasks { get; init; }

    [Inject]
    public required ScrubNames Names { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    /// <summary>A task to show; checked like the API's route value and never shown back when it is not one of the caller's.</summary>
    [SupplyParameterFromQuery(Name = "task")]
    public string? TaskId { get; set; }

    protected override async Task OnInitializedAsync()
    {
        _names = string.Join('\n', await Names.GetAsync(_closed.Token));
        if (TaskId is { } id)
        {
            if (Api.ScrubEndpoints.TaskId(id) is not null || Tasks.Find(id) is not { } task || !task.IsVisibleTo(Caller.Actor, Caller.May(AccessRole.Admin)))
            {
                _error = "No such scrub task (it may have expired after an hour, or belong to someone else).";
                return;
            }

            await ShowAsync(task.Id);
        }
    }

    private async Task ScrubTextAsync()
    {
        Caller.Demand(AccessRole.Operator);
        _error = null;
        _busy = true;
        try
        {
            await ShowAsync(Tasks.StartText(Caller.Actor, _text ?? string.Empty, Caller.AuditActor).Id);
        }
        finally
        {
            _busy = false;
        }
    }

    private async Task ShowAsync(string id)
    {
        _task = Tasks.Find(id);
        try
        {
            _task = await Tasks.EndedAsync(id, _closed.Token);
        }
        catch (OperationCanceledException)
        {
            // The page closed.
        }
    }

    private async Task SaveNamesAsync()
    {
        Caller.Demand(AccessRole.Operator);
        _namesNote = null;
        try
        {
            var saved = await Names.SetAsync((_names ?? string.Empty).Split('\n'), _closed.Token);
            Caller.Audit("scrub.names", "scrub-names.txt", $"{saved.Length} name(s)");
            _names = string.Join('\n', saved);
            _namesNote = $"Saved {saved.Length} name(s).";
        }
        catch (ValidationFailedException invalid)
        {
            _namesNote = string.Join("; ", invalid.Errors.Select(e => e.Message));
        }
        catch (Core.Storage.DataDirectoryException ex)
        {
            _namesNote = ex.Message;
        }
    }

    public void Dispose()
    {
        _closed.Cancel();
        _closed.Dispose();
    }
}
