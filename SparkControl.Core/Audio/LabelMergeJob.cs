using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Core.Audio;

/// <summary>
/// A validated label-merge request: one transcript with its diarization, or the channels of a call. <see cref="Run"/>
/// does the work for the API and the Audio page alike. With <see cref="RemoveEcho"/>, a two-channel call drops the
/// channel-0 words that repeat channel-1 words at the echo delay before grouping (audio.md §1.7 step 4, §3.6).
/// </summary>
public sealed record LabelMergeJob(
    IReadOnlyList<TranscriptWord> Words,
    IReadOnlyList<SpeakerSegment> Segments,
    IReadOnlyList<ChannelTranscript>? Channels,
    LabelMergeOptions Options,
    string LocalSpeaker,
    string RemoteSpeaker,
    bool RemoveEcho = true)
{
    /// <summary>Whether <see cref="Run"/> will look for echo: only a call with both channels has a remote side to echo.</summary>
    public bool EchoRemovalRuns => RemoveEcho && Channels is { Count: CallMerger.MaxChannels };

    public LabelMergeResult Run()
    {
        if (Channels is null)
        {
            return LabelMerger.Merge(Words, Segments, Options);
        }

        if (!EchoRemovalRuns)
        {
            return CallMerger.Merge(Channels, Options, LocalSpeaker, RemoteSpeaker);
        }

        // The merger calls the filter once, synchronously, with both channels labelled; the report rides out with it.
        CallEchoReport? echo = null;
        var filter = new LocalWordFilter(CallEchoRemoval.Reason, (local, remote) =>
        {
            echo = CallEchoRemoval.Find(local, remote);
            return [.. echo.Removed.Select(w => w.LocalIndex)];
        });
        var result = CallMerger.Merge(Channels, Options, LocalSpeaker, RemoteSpeaker, filter);
        return result with { Echo = echo };
    }
}
