using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Audio.Transcripts;

public sealed class TranscriptScoringTests
{
    [Theory]
    [InlineData("a b c", "a b c", 0)]
    [InlineData("a b c", "a x c", 1 / 3.0)]
    [InlineData("a b c", "a c", 1 / 3.0)]
    [InlineData("a b c", "a b c d e", 2 / 3.0)]
    [InlineData("a b c d", "", 1)]
    public void WordErrorRate_CountsSubstitutionsDeletionsInsertions(string reference, string hypothesis, double expected) =>
        Assert.Equal(expected, TranscriptScoring.WordErrorRate(reference.Split(' ', StringSplitOptions.RemoveEmptyEntries), hypothesis.Split(' ', StringSplitOptions.RemoveEmptyEntries)), 6);

    [Fact]
    public void Attribution_AnEchoedRemoteWordLabelledLocal_IsWrong_AMisheardWordIsUnexplained()
    {
        var truth = TranscriptScoring.ReadTruth("start\tchannel\tspeaker\ttext\n0.50\t1\tremote\thello how are you\n3.00\t0\tlocal\tsend the report\n");

        var (right, wrong, unexplained) = TranscriptScoring.Attribution(
        [
            new("hello", 0.5, "remote", 1),
            new("hello", 0.62, "local", 0), // the loudspeaker's echo on the microphone, kept as the local speaker's
            new("report", 3.4, "local", 0),
            new("banana", 3.6, "local", 0),
        ], truth);

        Assert.Equal((2, 1, 1), (right, wrong, unexplained));
    }
}
