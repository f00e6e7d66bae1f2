namespace SparkControl.Core.Audio;

/// <summary>A merge of pasted or uploaded text, with where its speakers came from (for the Audio page).</summary>
public sealed record PastedMerge(LabelMergeResult Result, string AsrFormat, string SpeakerSource)
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
/// <see cref="AsrFormats"/> and <see cref="DiarizationFormats"/> read. Without a diarization, speakers the recogniser
/// put on its segments are used.
/// </summary>
public static class PastedTranscript
{
    public static PastedMerge Merge(string asr, string? diarization, LabelMergeOptions options, int maxWords)
    {
        var transcript = AsrFormats.Parse(asr);
        if (transcript.Words.Count > maxWords)
        {
            throw new TranscriptFormatException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"The transcript has {transcript.Words.Count:N0} words; the panel merges at most {maxWords:N0} at a time (setting Audio:MaxWords)."));
        }

        var (segments, format) = DiarizationFormats.Parse(diarization ?? string.Empty);
        string source;
        if (segments.Count > 0)
        {
            source = $"{format}, {segments.Count} segment{(segments.Count == 1 ? string.Empty : "s")}";
        }
        else if (transcript.Speakers.Count > 0)
        {
            segments = transcript.Speakers;
            source = "speakers on the transcript's segments";
        }
        else
        {
            source = "no diarization";
        }

        return new PastedMerge(LabelMerger.Merge(transcript.Words, segments, options), transcript.Format, source);
    }
}
