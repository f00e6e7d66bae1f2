using System.Collections.Immutable;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Audio.Referee;

namespace SparkControl.Core.Audio.Transcripts;

public enum TranscriptStatus
{
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,

    /// <summary>The panel stopped while the job ran and its audio was gone when it came back.</summary>
    Interrupted,
}

/// <summary>The steps of a transcription job, in order.</summary>
public enum TranscriptPhase
{
    Upload,
    EchoCancel,
    Transcribe,
    Merge,
    EchoDedupe,
    Referee,
    Done,
}

/// <summary>
/// What the caller asked for with the call: whether to cancel echo and run the referee, the recogniser's language and
/// model, the speakers' names, and a diarization (RTTM or pyannote JSON, as text) of the mono recording or of the
/// remote side of a call.
/// </summary>
public sealed record TranscriptSettings
{
    public bool EchoCancel { get; init; } = true;

    public bool Referee { get; init; } = true;

    public string? Language { get; init; }

    /// <summary>The transcription model (a name or alias the gateway routes); null: the setting's, else the first one served.</summary>
    public string? Model { get; init; }

    /// <summary>Speaker names: the local then the remote side of a call, or the single speaker of a mono recording.</summary>
    public ImmutableArray<string> Speakers { get; init; } = [];

    public string? Diarization { get; init; }
}

/// <summary>What the audio is, read from its header when it was uploaded.</summary>
public sealed record TranscriptAudio(string FileName, long Bytes, int Channels, int SampleRate, double DurationSeconds);

/// <summary>The finished transcript: the merged words and utterances, what the referee did, and notes for the reader.</summary>
public sealed record TranscriptResult(LabelMergeResult Transcript, RefereeReport? Referee, ImmutableArray<string> Notes)
{
    /// <summary>Set when the transcript was replaced by its scrubbed version (the original was not kept).</summary>
    public bool Scrubbed { get; init; }
}

/// <summary>One transcription job, as the API and the Transcripts page show it.</summary>
public sealed record TranscriptJob(string Id, string Owner, TranscriptAudio Audio, TranscriptSettings Settings, DateTimeOffset CreatedAt)
{
    public TranscriptStatus Status { get; init; } = TranscriptStatus.Queued;

    public TranscriptPhase Phase { get; init; } = TranscriptPhase.Upload;

    /// <summary>The share of the whole job done, 0 to 1.</summary>
    public double Progress { get; init; }

    /// <summary>What the current phase is doing, in words ("chunk 3 of 12 on channel 1").</summary>
    public string? Detail { get; init; }

    public string? Error { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? EndedAt { get; init; }

    public TranscriptResult? Result { get; init; }

    /// <summary>Times the job was started again after a panel restart.</summary>
    public int Resumes { get; init; }

    public bool IsFinished => Status is TranscriptStatus.Done or TranscriptStatus.Failed or TranscriptStatus.Cancelled or TranscriptStatus.Interrupted;

    public bool IsCall => Audio.Channels == 2;

    /// <summary>A job is its owner's; an admin sees every one. The API, the pages and the list all ask this.</summary>
    public bool IsVisibleTo(string actor, bool admin) => admin || string.Equals(Owner, actor, StringComparison.Ordinal);
}

/// <summary>Every job kept, newest first.</summary>
public sealed record TranscriptBoard(ImmutableArray<TranscriptJob> Jobs)
{
    public IEnumerable<TranscriptJob> VisibleTo(string actor, bool admin) => Jobs.Where(j => j.IsVisibleTo(actor, admin));
}

/// <summary>A job cannot be taken or changed now; the message says why.</summary>
public sealed class TranscriptConflictException(string message) : InvalidOperationException(message);

/// <summary>Too many jobs are waiting (for this caller or for everyone); try again after the given time.</summary>
public sealed class TranscriptBusyException(string message, TimeSpan retryAfter) : InvalidOperationException(message)
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
