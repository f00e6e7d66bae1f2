using SparkControl.Core.Audio.Echo;

namespace SparkControl.Core.Audio.LabelMerge;

/// <summary>
/// A channel-0 word removed as the loudspeaker's echo of channel-1 word <see cref="RemoteIndex"/>. Indices are into each
/// channel's own words; times are the sanitized ones, in seconds.
/// </summary>
public sealed record RemovedEchoWord(
    int LocalIndex,
    string Text,
    double Start,
    double End,
    int RemoteIndex,
    string RemoteText,
    double RemoteStart,
    double RemoteEnd,
    double Similarity)
{
    /// <summary>How long after the remote word this one started: this word's own echo delay.</summary>
    public double Lag => Math.Round(Start - RemoteStart, 3);
}

/// <summary>
/// What the transcript echo pass of a call did: the delay it used (null when it found no echo), where the delay came
/// from, how many exact word matches voted for it, and the channel-0 words it removed, in channel-0 order.
/// </summary>
public sealed record CallEchoReport(double? Delay, EchoDelaySource DelaySource, int MatchedWords, IReadOnlyList<RemovedEchoWord> Removed);

/// <summary>
/// Step 4 of the two-channel merge (audio.md §1.7): runs <see cref="TranscriptEchoDetector"/> over the labelled words of
/// both channels and says which channel-0 words to drop before grouping.
/// </summary>
public static class CallEchoRemoval
{
    /// <summary>The <see cref="LabelledWord.Reason"/> of a word dropped as an echo.</summary>
    public const string Reason = "echo";

    public static CallEchoReport Find(IReadOnlyList<LabelledWord> local, IReadOnlyList<LabelledWord> remote, TranscriptEchoOptions? options = null)
    {
        var result = TranscriptEchoDetector.Detect(ToEchoWords(local), ToEchoWords(remote), options);
        var removed = result.Echoes
            .OrderBy(e => e.LocalIndex)
            .Select(e =>
            {
                var (l, r) = (local[e.LocalIndex], remote[e.RemoteIndex]);
                return new RemovedEchoWord(
                    e.LocalIndex, l.Text, l.Start!.Value, l.End ?? l.Start.Value,
                    e.RemoteIndex, r.Text, r.Start!.Value, r.End ?? r.Start.Value, Math.Round(e.Similarity, 3));
            })
            .ToList();
        return new CallEchoReport(result.Delay, result.DelaySource, result.Votes, removed);
    }

    // A word without a usable time gets NaN, which the detector skips; the indices still line up with the channel's words.
    private static EchoWord[] ToEchoWords(IReadOnlyList<LabelledWord> words) =>
        [.. words.Select(w => new EchoWord(w.Text, w.Start ?? double.NaN, w.End ?? w.Start ?? double.NaN))];
}
