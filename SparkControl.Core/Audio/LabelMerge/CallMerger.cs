namespace SparkControl.Core.Audio.LabelMerge;

/// <summary>
/// One recording channel of a call, transcribed on its own. <paramref name="Segments"/> diarize it (several people on
/// the remote side, or in the room); without them every word is <paramref name="Speaker"/>'s. With them,
/// <paramref name="Speaker"/> is the fallback for words no diarized speaker could be given to.
/// </summary>
public sealed record ChannelTranscript(IReadOnlyList<TranscriptWord> Words, IReadOnlyList<SpeakerSegment>? Segments = null, string? Speaker = null);

/// <summary>
/// A step that removes local (channel 0) words before grouping, given both labelled channels: the hook for echo removal
/// (audio.md §1.7 step 4). <see cref="Select"/> returns indices into the local words; they stay in the result, marked
/// <see cref="LabelledWord.Dropped"/> with <see cref="Reason"/>, and are left out of the utterances.
/// </summary>
public sealed record LocalWordFilter(string Reason, Func<IReadOnlyList<LabelledWord>, IReadOnlyList<LabelledWord>, IReadOnlyCollection<int>> Select);

/// <summary>
/// Merges a two-channel call (audio.md §1.7): channel 0 is the local microphone, channel 1 the remote side. Each channel
/// is labelled and grouped into utterances on its own, then the utterances are merged by time, so crosstalk becomes two
/// overlapping utterances (both marked) and is never interleaved word by word. On equal starts the remote utterance
/// comes first: the remote question, then the local answer.
/// </summary>
public static class CallMerger
{
    public const int MaxChannels = 2;

    public static LabelMergeResult Merge(
        IReadOnlyList<ChannelTranscript> channels,
        LabelMergeOptions options,
        string localSpeaker,
        string remoteSpeaker,
        LocalWordFilter? localFilter = null)
    {
        if (channels.Count is 0 or > MaxChannels)
        {
            throw new ArgumentException($"A call has one or two channels, not {channels.Count}.", nameof(channels));
        }

        var labelled = new LabelledWord[channels.Count][];
        var dropped = 0;
        for (var c = 0; c < channels.Count; c++)
        {
            var channel = channels[c];
            var name = channel.Speaker ?? (c == 0 ? localSpeaker : remoteSpeaker);
            if (channel.Segments is { Count: > 0 } segments)
            {
                var assignment = LabelMerger.Assign(channel.Words, segments, options with { DefaultSpeaker = channel.Speaker ?? options.DefaultSpeaker });
                labelled[c] = assignment.Words;
                dropped += assignment.DroppedSegments;
            }
            else
            {
                labelled[c] = ByChannel(channel.Words, name, options);
            }

            for (var i = 0; i < labelled[c].Length; i++)
            {
                labelled[c][i] = labelled[c][i] with { Channel = c };
            }
        }

        if (localFilter is not null && labelled.Length == 2)
        {
            foreach (var i in localFilter.Select(labelled[0], labelled[1]))
            {
                if (i >= 0 && i < labelled[0].Length)
                {
                    labelled[0][i] = labelled[0][i] with { Dropped = true, Reason = localFilter.Reason };
                }
            }
        }

        var words = labelled.SelectMany(l => l).ToArray();
        var utterances = new List<Utterance>();
        var offset = 0;
        foreach (var channel in labelled)
        {
            var kept = Enumerable.Range(offset, channel.Length).Where(i => !words[i].Dropped).ToArray();
            utterances.AddRange(UtteranceGrouper.Group(words, options, kept));
            offset += channel.Length;
        }

        var merged = utterances.OrderBy(u => u.Start).ThenByDescending(u => u.Channel).ThenBy(u => u.End).ToList();
        return new LabelMergeResult(words, UtteranceGrouper.MarkOverlaps(merged), dropped);
    }

    /// <summary>Every word is the channel's speaker, with full confidence; only the times are sanitized.</summary>
    private static LabelledWord[] ByChannel(IReadOnlyList<TranscriptWord> words, string speaker, LabelMergeOptions options)
    {
        var sanitized = WordSanitizer.Sanitize(words, options);
        var result = new LabelledWord[words.Count];
        for (var i = 0; i < words.Count; i++)
        {
            double? start = sanitized.Timed[i] ? WordSanitizer.ToSeconds(sanitized.Start[i]) : null;
            double? end = sanitized.Timed[i] ? WordSanitizer.ToSeconds(sanitized.End[i]) : null;
            result[i] = new LabelledWord(i, words[i].Text, start, end, speaker, 1, 1, AssignMethod.Channel, null, sanitized.Repairs[i] & ~(WordRepairs.Capped | WordRepairs.Trimmed));
        }

        return result;
    }
}
