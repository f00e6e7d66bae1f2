using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Core.Audio.Referee;

/// <summary>
/// Picks the utterances worth a chat model's second opinion (audio.md §4) and the speakers it may choose from. Pure and
/// deterministic, so what is sent (and its hash) depends only on the transcript and the options.
/// </summary>
/// <remarks>
/// §4 also disputes utterances "where diarization and channel disagree". Our types cannot show that: a call's channel is
/// labelled by channel (<see cref="AssignMethod.Channel"/>) or by its own diarization, never both, so there is nothing to
/// compare. That trigger is left out on purpose.
/// </remarks>
public static class DisputeSelector
{
    /// <summary>
    /// The disputed utterances in transcript order, each with one trigger: nearest-fill, else short-flip, else
    /// low-confidence (the most specific reason first). Utterances without a speaker are left alone: their words say
    /// why none was given, and the referee only moves labels between speakers, it does not invent them.
    /// </summary>
    public static List<DisputedUtterance> Select(LabelMergeResult transcript, RefereeOptions options)
    {
        var disputed = new List<DisputedUtterance>();
        var utterances = transcript.Utterances;
        for (var k = 0; k < utterances.Count; k++)
        {
            var u = utterances[k];
            if (u.Speaker is not { } speaker || u.Words.Count == 0)
            {
                continue;
            }

            var confidence = MeanConfidence(transcript, u);
            var trigger = HasFilledWord(transcript, u) ? RefereeTriggers.NearestFill
                : IsShortFlip(utterances, k, options.MaxFlipWords) ? RefereeTriggers.ShortFlip
                : confidence < options.ConfidenceThreshold ? RefereeTriggers.LowConfidence
                : null;
            if (trigger is not null)
            {
                disputed.Add(new DisputedUtterance(k, trigger, speaker, confidence));
            }
        }

        return disputed;
    }

    /// <summary>Every distinct speaker of the transcript's utterances, in order of first appearance.</summary>
    public static List<string> Candidates(LabelMergeResult transcript)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var candidates = new List<string>();
        foreach (var speaker in transcript.Utterances.Select(u => u.Speaker).Concat(transcript.Words.Where(w => !w.Dropped).Select(w => w.Speaker)))
        {
            if (speaker is not null && seen.Add(speaker))
            {
                candidates.Add(speaker);
            }
        }

        return candidates;
    }

    /// <summary>The machine's confidence in an utterance: the mean of its words' confidences (0 for none).</summary>
    public static double MeanConfidence(LabelMergeResult transcript, Utterance utterance) =>
        utterance.Words.Count == 0 ? 0 : utterance.Words.Average(i => transcript.Words[i].Confidence);

    /// <summary>A word whose speaker came from a fallback rather than from overlap with its speech.</summary>
    private static bool HasFilledWord(LabelMergeResult transcript, Utterance utterance) =>
        utterance.Words.Any(i => transcript.Words[i] is { Method: AssignMethod.Nearest or AssignMethod.Default } or { Method: AssignMethod.Unassigned, Speaker: not null });

    /// <summary>
    /// At most <paramref name="maxWords"/> words, and the utterances before and after it on the same channel belong to
    /// one other speaker. Crosstalk on the other channel in between does not break the flip.
    /// </summary>
    private static bool IsShortFlip(IReadOnlyList<Utterance> utterances, int k, int maxWords)
    {
        var u = utterances[k];
        if (u.Words.Count > maxWords)
        {
            return false;
        }

        var before = Neighbour(utterances, k, -1);
        var after = Neighbour(utterances, k, +1);
        return before?.Speaker is { } speaker
            && string.Equals(speaker, after?.Speaker, StringComparison.Ordinal)
            && !string.Equals(speaker, u.Speaker, StringComparison.Ordinal);
    }

    private static Utterance? Neighbour(IReadOnlyList<Utterance> utterances, int k, int step)
    {
        for (var j = k + step; j >= 0 && j < utterances.Count; j += step)
        {
            if (utterances[j].Channel == utterances[k].Channel)
            {
                return utterances[j];
            }
        }

        return null;
    }
}
