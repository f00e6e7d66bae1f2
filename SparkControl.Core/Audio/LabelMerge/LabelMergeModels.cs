using SparkControl.Core.Collections;

namespace SparkControl.Core.Audio.LabelMerge;

/// <summary>
/// One word as a recogniser returned it. Times are seconds from the start of the audio and may be missing
/// (aligners drop them for numbers and symbols) or wrong; <see cref="WordSanitizer"/> repairs what it can.
/// </summary>
public sealed record TranscriptWord(string Text, double? Start, double? End)
{
    /// <summary>The times were spread over a segment by character count, not measured per word.</summary>
    public bool TimesEstimated { get; init; }
}

/// <summary>One diarization turn: <paramref name="Speaker"/> talks during the half-open interval [start, end).</summary>
public sealed record SpeakerSegment(double Start, double End, string Speaker);

/// <summary>How a word got its speaker.</summary>
public enum AssignMethod
{
    /// <summary>The speaker with the most overlap with the word (summed over that speaker's segments).</summary>
    Overlap,

    /// <summary>A zero-length word: the speaker whose segment contains its instant.</summary>
    Midpoint,

    /// <summary>The word fell in a diarization gap: the segment with the nearest edge, within the maximum fill gap.</summary>
    Nearest,

    /// <summary>No diarized speaker; the configured default speaker was used.</summary>
    Default,

    /// <summary>The recording channel says who spoke (the local microphone of a call, or a remote side without diarization).</summary>
    Channel,

    /// <summary>No speaker; <see cref="LabelledWord.Reason"/> says why.</summary>
    Unassigned,
}

/// <summary>What the sanitize step changed or noticed about a word's times.</summary>
[Flags]
public enum WordRepairs
{
    None = 0,

    /// <summary>No usable start: the times were interpolated between the neighbouring words, or the word has none.</summary>
    MissingStart = 1 << 0,

    /// <summary>No usable end: the word is a point at its start.</summary>
    MissingEnd = 1 << 1,

    /// <summary>The end was before the start: the word is a point at its start.</summary>
    Reversed = 1 << 2,

    /// <summary>A negative time was moved to zero.</summary>
    Negative = 1 << 3,

    /// <summary>The times were estimated (interpolated between neighbours, or spread over a segment by the parser).</summary>
    Interpolated = 1 << 4,

    /// <summary>The word starts before the word before it in the input: the input was not in time order.</summary>
    OutOfOrder = 1 << 5,

    /// <summary>The word ran past the start of the next word; only the part before it counts for assignment.</summary>
    Trimmed = 1 << 6,

    /// <summary>The word is longer than the maximum word duration; only its first part counts for assignment.</summary>
    Capped = 1 << 7,
}

/// <summary>Why a word has no speaker (or only the default one). Stable codes, used by the API.</summary>
public static class UnassignedReasons
{
    /// <summary>The word has no start time and none could be interpolated from its neighbours.</summary>
    public const string NoTimestamp = "no-timestamp";

    /// <summary>There was no diarization at all.</summary>
    public const string NoDiarization = "no-diarization";

    /// <summary>The word overlaps no segment and filling from the nearest segment is off.</summary>
    public const string NoOverlap = "no-overlap";

    /// <summary>The word overlaps no segment and the nearest one is further away than the maximum fill gap.</summary>
    public const string BeyondFillGap = "beyond-fill-gap";
}

/// <summary>
/// A word with its speaker. <see cref="Start"/> and <see cref="End"/> are the sanitized times (seconds, 1 ms
/// resolution; null only when the word has no usable time at all). <see cref="Confidence"/> is in [0, 1]: the chosen
/// speaker's share of the speech heard during the word, lowered when another speaker's segment begins or ends within
/// the boundary guard of the word; <see cref="Margin"/> is the lead of the chosen speaker over the runner-up.
/// </summary>
public readonly record struct LabelledWord(
    int Index,
    string Text,
    double? Start,
    double? End,
    string? Speaker,
    double Confidence,
    double Margin,
    AssignMethod Method,
    string? Reason,
    WordRepairs Repairs)
{
    /// <summary>The recording channel in a call (0 = local microphone); 0 for a single transcript.</summary>
    public int Channel { get; init; }

    /// <summary>Removed before grouping (e.g. an echo of the other channel); <see cref="Reason"/> says why.</summary>
    public bool Dropped { get; init; }
}

/// <summary>
/// Consecutive words of one speaker on one channel. <see cref="Overlap"/> is set when another utterance overlaps it in
/// time (crosstalk); <see cref="Words"/> are indices into <see cref="LabelMergeResult.Words"/>.
/// </summary>
public sealed record Utterance(string? Speaker, double Start, double End, string Text, bool Overlap, int Channel, ValueArray<int> Words);

/// <summary>
/// The merged transcript. <see cref="Words"/> are in the input's order (a call lists channel 0, then channel 1);
/// <see cref="Utterances"/> are in time order.
/// </summary>
public sealed record LabelMergeResult(IReadOnlyList<LabelledWord> Words, IReadOnlyList<Utterance> Utterances, int DroppedSegments)
{
    public static LabelMergeResult Empty { get; } = new([], [], 0);

    /// <summary>What the echo pass of a two-channel call removed; null when it did not run.</summary>
    public CallEchoReport? Echo { get; init; }
}

/// <summary>The knobs of label-merge and utterance grouping (the defaults are audio.md §1.5-1.6).</summary>
public sealed record LabelMergeOptions
{
    /// <summary>A word in a diarization gap takes the speaker of the segment with the nearest edge, up to this far away.</summary>
    public TimeSpan MaxFillGap { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether words in a gap are filled from the nearest segment at all.</summary>
    public bool FillNearest { get; init; } = true;

    /// <summary>Longer words (aligners stretch words over following silence) count only this long for assignment; zero turns capping off.</summary>
    public TimeSpan MaxWordDuration { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>A word closer than this to another speaker's turn gets a lower confidence (diarization boundaries are coarse); zero turns it off.</summary>
    public TimeSpan BoundaryGuard { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The speaker of words no diarized speaker could be given to; null leaves them without one.</summary>
    public string? DefaultSpeaker { get; init; }

    /// <summary>A pause longer than this starts a new utterance.</summary>
    public TimeSpan MaxPause { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>An utterance longer than this ends at the next word that ends a sentence.</summary>
    public TimeSpan MaxUtterance { get; init; } = TimeSpan.FromSeconds(30);
}
