using System.Globalization;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Core.Audio;

/// <summary>
/// A merge of pasted or uploaded text, with where its words and speakers came from (for the Audio page); a call's
/// <see cref="SpeakerSource"/> is that of channel 1.
/// </summary>
public sealed record PastedMerge(LabelMergeResult Result, string AsrFormat, string SpeakerSource, bool IsCall = false)
{
    /// <summary>Speakers in the order they first speak; null (no speaker) is not one of them.</summary>
    public IReadOnlyList<string> Speakers { get; } = [.. Result.Utterances.Select(u => u.Speaker).OfType<string>().Distinct(StringComparer.Ordinal)];

    public int LowConfidenceCount(double threshold) => Result.Words.Count(w => IsLowConfidence(w, threshold));

    /// <summary>A word worth a second look: given by the nearest segment, to nobody, or with a confidence below the threshold.</summary>
    public static bool IsLowConfidence(LabelledWord word, double threshold) =>
        word.Method is not AssignMethod.Channel && word.Confidence < threshold;
}

/// <summary>
/// The Audio page's merge: a recogniser's output and an optional diarization, both as text in any format
/// <see cref="AsrFormats"/> and <see cref="DiarizationFormats"/> read, run through the same <see cref="LabelMergeJob"/>
/// as the API. Without a diarization, speakers the recogniser put on its segments are used.
/// </summary>
public static class PastedTranscript
{
    public static PastedMerge Merge(string asr, string? diarization, LabelMergeOptions options, int maxWords)
    {
        var transcript = AsrFormats.Parse(asr);
        CheckWordCount(transcript.Words.Count, "The transcript has", maxWords);
        var (segments, source) = Speakers(transcript, diarization);
        var job = new LabelMergeJob(transcript.Words, segments, null, options, string.Empty, string.Empty);
        return new PastedMerge(job.Run(), transcript.Format, source);
    }

    /// <summary>
    /// A two-channel call: channel 0 the local microphone, channel 1 the remote side with an optional diarization.
    /// With <paramref name="removeEcho"/>, channel-0 words that repeat channel-1 words at the echo delay are dropped.
    /// </summary>
    public static PastedMerge MergeCall(string localAsr, string remoteAsr, string? remoteDiarization, bool removeEcho, AudioOptions settings)
    {
        var local = Parse(localAsr, "Channel 0 (microphone)");
        var remote = Parse(remoteAsr, "Channel 1 (remote)");
        CheckWordCount(local.Words.Count + remote.Words.Count, "The two channels have", settings.MaxWords);
        var (segments, source) = Speakers(remote, remoteDiarization);
        var channels = new[] { new ChannelTranscript(local.Words), new ChannelTranscript(remote.Words, segments) };
        var job = new LabelMergeJob([], [], channels, settings.ToMergeOptions(), settings.LocalSpeaker, settings.RemoteSpeaker, removeEcho);
        return new PastedMerge(job.Run(), $"{local.Format} and {remote.Format}", source, IsCall: true);
    }

    private static AsrTranscript Parse(string text, string channel)
    {
        try
        {
            return AsrFormats.Parse(text);
        }
        catch (TranscriptFormatException ex)
        {
            throw new TranscriptFormatException($"{channel}: {ex.Message}");
        }
    }

    private static void CheckWordCount(int count, string what, int maxWords)
    {
        if (count > maxWords)
        {
            throw new TranscriptFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{what} {count:N0} words; the panel merges at most {maxWords:N0} at a time (setting Audio:MaxWords)."));
        }
    }

    private static (IReadOnlyList<SpeakerSegment> Segments, string Source) Speakers(AsrTranscript transcript, string? diarization)
    {
        var (segments, format) = DiarizationFormats.Parse(diarization ?? string.Empty);
        if (segments.Count > 0)
        {
            return (segments, $"{format}, {segments.Count} segment{(segments.Count == 1 ? string.Empty : "s")}");
        }

        return transcript.Speakers.Count > 0
            ? (transcript.Speakers, "speakers on the transcript's segments")
            : (segments, "no diarization");
    }
}
