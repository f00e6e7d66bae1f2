using MudBlazor;
using SparkControl.Core.Audio.Transcripts;

namespace SparkControl.Web.Components.Pages;

/// <summary>How a transcription job's state is shown, the same on the list and on the job's page.</summary>
public static class TranscriptView
{
    public static Color ColorOf(TranscriptStatus status) => status switch
    {
        TranscriptStatus.Done => Color.Success,
        TranscriptStatus.Running => Color.Info,
        TranscriptStatus.Failed => Color.Error,
        TranscriptStatus.Interrupted => Color.Warning,
        _ => Color.Default,
    };

    public static string StatusText(TranscriptJob job) => job.Status == TranscriptStatus.Running ? $"{PhaseText(job.Phase)}" : job.Status.ToString().ToLowerInvariant();

    public static string PhaseText(TranscriptPhase phase) => phase switch
    {
        TranscriptPhase.Upload => "uploaded",
        TranscriptPhase.EchoCancel => "echo cancel",
        TranscriptPhase.Transcribe => "transcribing",
        TranscriptPhase.Merge => "merging",
        TranscriptPhase.EchoDedupe => "echo dedupe",
        TranscriptPhase.Referee => "referee",
        _ => "done",
    };
}
