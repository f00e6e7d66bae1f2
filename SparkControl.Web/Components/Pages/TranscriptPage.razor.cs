using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Access;
using SparkControl.Core.Audio.Referee;
using SparkControl.Core.Audio.Transcripts;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Pages;

/// <summary>
/// One transcription job, live: its phases and progress while it runs (every browser sees the same), then the
/// transcript by utterance with speakers, the referee's changes marked, downloads, and scrubbing.
/// </summary>
public sealed partial class TranscriptPage
{
    private static readonly (string Format, string Label)[] Downloads = [("srt", "SRT"), ("vtt", "WebVTT"), ("text", "Text"), ("json", "JSON")];

    private List<BreadcrumbItem> _crumbs = [];
    private bool _scrubbing;
    private bool _keepOriginal = true;
    private string? _scrubError;

    [Parameter]
    public string Id { get; set; } = string.Empty;

    [Inject]
    public required TranscriptJobs Jobs { get; init; }

    [Inject]
    public required ScrubTasks Scrubs { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    private TranscriptBoard Board { get; set; } = new([]);

    /// <summary>The job when it is the caller's (or the caller is an admin); others see "no such job", as the API answers.</summary>
    private TranscriptJob? Job => Board.Jobs.FirstOrDefault(j => j.Id == Id && j.IsVisibleTo(Caller.Actor, Caller.May(AccessRole.Admin)));

    protected override void OnInitialized()
    {
        Board = Jobs.Board.Value;
        Watch(Jobs.WatchAsync, board => Board = board.Value);
    }

    protected override void OnParametersSet() =>
        _crumbs = [new BreadcrumbItem("Transcripts", "transcripts"), new BreadcrumbItem(Job?.Audio.FileName ?? "job", null, disabled: true)];

    private static IEnumerable<TranscriptPhase> Phases(TranscriptJob job) =>
        Enum.GetValues<TranscriptPhase>().Where(p => p != TranscriptPhase.Upload
            && (job.IsCall || p is not (TranscriptPhase.EchoCancel or TranscriptPhase.EchoDedupe))
            && (job.Settings.Referee || p != TranscriptPhase.Referee));

    private static RefereeDecision? Decision(TranscriptResult result, int utterance) =>
        result.Referee?.Decisions.FirstOrDefault(d => d.Utterance == utterance && d.Outcome == DecisionOutcome.Applied);

    private static string RefereeSummary(RefereeReport report) => report.Skipped is { } skipped
        ? $"Referee: not run ({skipped})."
        : $"Referee: {report.Disputed.Count} uncertain utterance(s), {report.Calls.Count} call(s) to the chat model, {report.Applied} speaker(s) changed.";

    private static string Time(double seconds) => TimeSpan.FromSeconds(seconds).ToString(seconds >= 3600 ? @"h\:mm\:ss" : @"m\:ss");

    private Task CancelAsync()
    {
        Caller.Demand(AccessRole.Operator);
        if (Job is { } job)
        {
            Jobs.Cancel(job.Id, Caller.AuditActor);
        }

        return Task.CompletedTask;
    }

    private async Task ScrubAsync()
    {
        Caller.Demand(AccessRole.Operator);
        if (Job is not { } job)
        {
            return;
        }

        var message = _keepOriginal
            ? "Make a copy of this transcript with e-mail addresses, phone numbers, payment cards, IBANs and the names on the Scrub page's list replaced by placeholders. The original stays as it is."
            : "Replace e-mail addresses, phone numbers, payment cards, IBANs and the names on the Scrub page's list with placeholders in this transcript. The original is not kept and cannot be recovered.";
        if (!await ConfirmDialog.AskAsync(Dialogs, "Scrub personal data", message, _keepOriginal ? "Scrub a copy" : "Scrub and replace", _keepOriginal ? Color.Primary : Color.Error))
        {
            return;
        }

        _scrubbing = true;
        _scrubError = null;
        try
        {
            var task = Scrubs.StartJob(job, Caller.Actor, _keepOriginal, Caller.AuditActor);
            Navigation.NavigateTo($"scrub?task={task.Id}");
        }
        catch (TranscriptConflictException ex)
        {
            _scrubError = ex.Message;
        }
        finally
        {
            _scrubbing = false;
        }
    }
}
