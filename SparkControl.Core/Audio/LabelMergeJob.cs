namespace SparkControl.Core.Audio;

/// <summary>
/// A validated label-merge request: one transcript with its diarization, or the channels of a call. <see cref="Run"/>
/// does the work; the optional filter is the echo-removal hook of a call.
/// </summary>
public sealed record LabelMergeJob(
    IReadOnlyList<TranscriptWord> Words,
    IReadOnlyList<SpeakerSegment> Segments,
    IReadOnlyList<ChannelTranscript>? Channels,
    LabelMergeOptions Options,
    string LocalSpeaker,
    string RemoteSpeaker)
{
    public LabelMergeResult Run(LocalWordFilter? localFilter = null) => Channels is null
        ? LabelMerger.Merge(Words, Segments, Options)
        : CallMerger.Merge(Channels, Options, LocalSpeaker, RemoteSpeaker, localFilter);
}
