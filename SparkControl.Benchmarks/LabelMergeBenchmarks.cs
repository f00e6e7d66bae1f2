using BenchmarkDotNet.Attributes;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Benchmarks;

/// <summary>
/// Label-merge at issue 8's size: 100,000 words against 10,000 diarization segments, the sweep against the O(n·m)
/// reference. <c>Conversation</c> is a long meeting (four speakers, turns of about ten words, gaps and some crosstalk),
/// the size the targets are for. The other two are audio.md §1.8 item 17, everything overlapping:
/// <c>AllOverlapping</c> has long segments of eight speakers on top of each other, which the per-speaker union folds
/// into a few segments (for the reference too); <c>ManySpeakers</c> has a hundred speakers whose long segments cannot
/// fold, so about a hundred are active at every word: the sweep's true worst case, O(n·k) for k concurrent speakers.
/// Run with
/// <c>dotnet run -c Release --project SparkControl.Benchmarks -- --filter '*LabelMerge*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class LabelMergeBenchmarks
{
    private const int WordCount = 100_000;
    private const int SegmentCount = 10_000;
    private readonly LabelMergeOptions _options = new();
    private TranscriptWord[] _words = [];
    private SpeakerSegment[] _segments = [];

    [Params("Conversation", "AllOverlapping", "ManySpeakers")]
    public string Layout { get; set; } = "Conversation";

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(8);
        _words = new TranscriptWord[WordCount];
        var clock = 0.0;
        for (var i = 0; i < WordCount; i++)
        {
            // Words of 0.1-0.6 s, a few zero-length (TDT), with short pauses.
            var start = clock + (random.NextDouble() * 0.15);
            var length = random.Next(20) == 0 ? 0 : 0.1 + (random.NextDouble() * 0.5);
            _words[i] = new TranscriptWord("word", Math.Round(start, 3), Math.Round(start + length, 3));
            clock = start + length;
        }

        _segments = Layout switch
        {
            "Conversation" => Conversation(random, clock),
            "AllOverlapping" => AllOverlapping(random, clock, speakers: 8),
            _ => ManySpeakers(clock),
        };
    }

    [Benchmark]
    public WordAssignment Sweep() => LabelMerger.Assign(_words, _segments, _options);

    [Benchmark(Baseline = true)]
    public WordAssignment BruteForce() => ReferenceLabelMerger.Assign(_words, _segments, _options);

    private static SpeakerSegment[] Conversation(Random random, double duration)
    {
        var segments = new SpeakerSegment[SegmentCount];
        var turn = duration / SegmentCount;
        var clock = 0.0;
        for (var k = 0; k < SegmentCount; k++)
        {
            var speaker = $"SPEAKER_{random.Next(4):00}";
            var gap = random.Next(10) switch
            {
                0 => -random.NextDouble() * turn * 0.3, // crosstalk into the previous turn
                < 4 => random.NextDouble() * 1.5, // a pause diarization left out
                _ => 0,
            };
            var start = Math.Max(0, clock + gap);
            var end = start + (turn * (0.5 + random.NextDouble()));
            segments[k] = new SpeakerSegment(Math.Round(start, 3), Math.Round(end, 3), speaker);
            clock = end;
        }

        return segments;
    }

    private static SpeakerSegment[] AllOverlapping(Random random, double duration, int speakers)
    {
        var segments = new SpeakerSegment[SegmentCount];
        for (var k = 0; k < SegmentCount; k++)
        {
            var start = random.NextDouble() * duration;
            var length = random.NextDouble() * duration / 10;
            segments[k] = new SpeakerSegment(Math.Round(start, 3), Math.Round(start + length, 3), $"SPEAKER_{random.Next(speakers):00}");
        }

        return segments;
    }

    /// <summary>100 speakers with 100 segments each, every segment a hundredth of the file long, staggered by speaker.</summary>
    private static SpeakerSegment[] ManySpeakers(double duration)
    {
        const int speakers = 100;
        var segments = new SpeakerSegment[SegmentCount];
        var length = duration / (SegmentCount / speakers);
        for (var k = 0; k < SegmentCount; k++)
        {
            int speaker = k % speakers, slot = k / speakers;
            var start = (slot * length) + (speaker * length / speakers);
            segments[k] = new SpeakerSegment(Math.Round(start, 3), Math.Round(start + (length * 0.99), 3), $"S{speaker:000}");
        }

        return segments;
    }
}
