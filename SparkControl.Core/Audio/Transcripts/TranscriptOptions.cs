using Microsoft.Extensions.Options;

namespace SparkControl.Core.Audio.Transcripts;

/// <summary>Settings under <c>Transcripts</c>: the limits of transcription jobs and how calls are cut and refereed.</summary>
public sealed class TranscriptOptions
{
    public const string Section = "Transcripts";

    /// <summary>
    /// The largest call accepted (a one-hour 16 kHz stereo WAV is 230 MB). A running job holds its call decoded in memory,
    /// about three times the file, so raise it only with the memory to match.
    /// </summary>
    public long MaxUploadBytes { get; set; } = 512L << 20;

    /// <summary>The longest call accepted.</summary>
    public TimeSpan MaxDuration { get; set; } = TimeSpan.FromHours(4);

    /// <summary>Jobs one caller may have queued or running at once.</summary>
    public int MaxQueuedPerCaller { get; set; } = 3;

    /// <summary>Jobs queued or running for everyone together.</summary>
    public int MaxQueued { get; set; } = 20;

    /// <summary>Jobs run at once (each sends its chunks to the workers up to their caps).</summary>
    public int MaxRunning { get; set; } = 1;

    /// <summary>Finished jobs kept (with their transcripts); older ones go when a new one is queued.</summary>
    public int Kept { get; set; } = 200;

    /// <summary>The transcription model jobs use when the request names none; empty: the first one a worker serves.</summary>
    public string? Model { get; set; }

    /// <summary>The longest piece of audio sent to a worker in one request: longer channels are cut at silences.</summary>
    public TimeSpan ChunkLength { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Audio sent on both sides of a cut, so a word the cut went through is heard whole by one of the two requests.</summary>
    public TimeSpan ChunkOverlap { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts per chunk before the job fails (a worker restarting, a full queue).</summary>
    public int ChunkAttempts { get; set; } = 4;

    /// <summary>How long one chunk may take at a worker.</summary>
    public TimeSpan ChunkTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Chat calls the referee may make for one transcript.</summary>
    public int RefereeMaxCalls { get; set; } = 20;

    /// <summary>How long the referee waits for one chat answer.</summary>
    public TimeSpan RefereeTimeout { get; set; } = TimeSpan.FromSeconds(20);
}

/// <summary>Validates <see cref="TranscriptOptions"/>, naming each bad key.</summary>
public sealed class TranscriptOptionsValidator : IValidateOptions<TranscriptOptions>
{
    public ValidateOptionsResult Validate(string? name, TranscriptOptions options)
    {
        var errors = new List<string>();
        void Check(bool ok, string message)
        {
            if (!ok)
            {
                errors.Add(message);
            }
        }

        Check(options.MaxUploadBytes is >= 1024 and <= int.MaxValue, "Transcripts:MaxUploadBytes must be between 1 KiB and 2 GiB (a WAV's data size is 32-bit)");
        Check(options.MaxDuration > TimeSpan.Zero, "Transcripts:MaxDuration must be more than zero");
        Check(options.MaxQueuedPerCaller >= 1, "Transcripts:MaxQueuedPerCaller must be 1 or more");
        Check(options.MaxQueued >= options.MaxQueuedPerCaller, "Transcripts:MaxQueued must be at least Transcripts:MaxQueuedPerCaller");
        Check(options.MaxRunning is >= 1 and <= 16, "Transcripts:MaxRunning must be between 1 and 16");
        Check(options.Kept is >= 1 and <= 10_000, "Transcripts:Kept must be between 1 and 10000");
        Check(options.ChunkLength >= TimeSpan.FromSeconds(5) && options.ChunkLength <= TimeSpan.FromMinutes(30), "Transcripts:ChunkLength must be between 5 s and 30 min");
        Check(options.ChunkOverlap >= TimeSpan.Zero && options.ChunkOverlap * 4 <= options.ChunkLength, "Transcripts:ChunkOverlap must be zero or more and at most a quarter of Transcripts:ChunkLength");
        Check(options.ChunkAttempts is >= 1 and <= 20, "Transcripts:ChunkAttempts must be between 1 and 20");
        Check(options.ChunkTimeout > TimeSpan.Zero, "Transcripts:ChunkTimeout must be more than zero");
        Check(options.RefereeMaxCalls is >= 0 and <= Referee.RefereeOptions.MostCalls, $"Transcripts:RefereeMaxCalls must be between 0 and {Referee.RefereeOptions.MostCalls}");
        Check(options.RefereeTimeout > TimeSpan.Zero && options.RefereeTimeout <= TimeSpan.FromMinutes(10), "Transcripts:RefereeTimeout must be more than zero and at most 00:10:00");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
