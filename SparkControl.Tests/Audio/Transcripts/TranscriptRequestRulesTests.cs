using System.Text;
using SparkControl.Core.Audio.Signal;
using SparkControl.Core.Audio.Transcripts;
using SparkControl.Core.Validation;

namespace SparkControl.Tests.Audio.Transcripts;

public sealed class TranscriptRequestRulesTests
{
    private static readonly TranscriptOptions Options = new() { MaxDuration = TimeSpan.FromSeconds(60), MaxUploadBytes = 10 << 20 };

    private static byte[] Wav(int channels, double seconds, int rate = 16000) =>
        WavFile.Write16(rate, [.. Enumerable.Range(0, channels).Select(_ => new float[(int)(seconds * rate)])]);

    private static string FieldOf(Action act) => Assert.Single(Assert.Throws<ValidationFailedException>(act).Errors).Field;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Audio_MonoOrStereo16Bit_IsTaken(int channels)
    {
        var wav = Wav(channels, 2.5);

        var audio = TranscriptRequestRules.Audio(wav.AsSpan(0, 4096), wav.Length, "dir/../call.wav", Options);

        Assert.Equal((channels, 16000, 2.5, "call.wav"), (audio.Channels, audio.SampleRate, audio.DurationSeconds, audio.FileName));
    }

    [Fact]
    public void Audio_ThreeChannels_IsRefused() => Assert.Equal("file", FieldOf(() => TranscriptRequestRules.Audio(Wav(3, 1), Wav(3, 1).Length, "x.wav", Options)));

    [Fact]
    public void Audio_LongerThanTheCap_IsRefusedWithTheCap()
    {
        var wav = Wav(1, 61);

        var error = Assert.Throws<ValidationFailedException>(() => TranscriptRequestRules.Audio(wav.AsSpan(0, 4096), wav.Length, "long.wav", Options));

        Assert.Contains("Transcripts:MaxDuration", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Audio_ANamedWavThatIsAnMp3_IsRefused_SayingWhatItIs()
    {
        byte[] mp3 = [(byte)'I', (byte)'D', (byte)'3', 4, 0, 0, 0, 0, 0, 0, .. new byte[200]];

        var error = Assert.Throws<ValidationFailedException>(() => TranscriptRequestRules.Audio(mp3, mp3.Length, "call.wav", Options));

        Assert.Contains("not a WAV call", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Audio_ATextFileNamedWav_IsRefused()
    {
        var text = Encoding.UTF8.GetBytes("RIFF? no, just a text file pretending to be audio");

        Assert.Equal("file", FieldOf(() => TranscriptRequestRules.Audio(text, text.Length, "call.wav", Options)));
    }

    [Fact]
    public void Audio_FloatSamples_AreRefusedWithTheConversion()
    {
        var wav = Wav(1, 1);
        wav[20] = 3; // format code 3: IEEE float
        wav[34] = 32;

        var error = Assert.Throws<ValidationFailedException>(() => TranscriptRequestRules.Audio(wav, wav.Length, "f.wav", Options));

        Assert.Contains("16-bit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Audio_HeaderOnly_HoldsNoAudio() => Assert.Equal("file", FieldOf(() => TranscriptRequestRules.Audio(Wav(1, 0), 44, "empty.wav", Options)));

    [Fact]
    public void Settings_Defaults_EchoCancelAndRefereeOn()
    {
        var settings = TranscriptRequestRules.Settings(null, null, null, null, null, null);

        Assert.True(settings.EchoCancel && settings.Referee);
        Assert.Empty(settings.Speakers);
    }

    [Fact]
    public void Settings_SpeakersAndRenames_AreParsed()
    {
        var settings = TranscriptRequestRules.Settings("false", "no", "pt-BR", "whisper-1", " Alice , SPEAKER_01=Bob, Carol ", null);

        Assert.False(settings.EchoCancel || settings.Referee);
        Assert.Equal(["Alice", "Carol", "SPEAKER_01=Bob"], settings.Speakers.ToArray());
        Assert.Equal(("pt-BR", "whisper-1"), (settings.Language, settings.Model));
    }

    [Theory]
    [InlineData("speakers", "Alice\n")]
    [InlineData("speakers", "Al\u0007ice")]
    [InlineData("speakers", "A, B, C")]
    [InlineData("speakers", "X=")]
    public void Settings_BadSpeakers_AreRefused(string field, string speakers) =>
        Assert.Equal(field, FieldOf(() => TranscriptRequestRules.Settings(null, null, null, null, speakers, null)));

    [Theory]
    [InlineData("en\n")]
    [InlineData("english")]
    [InlineData("<script>")]
    [InlineData("en-")]
    public void Settings_BadLanguage_IsRefused(string language) =>
        Assert.Equal("language", FieldOf(() => TranscriptRequestRules.Settings(null, null, language, null, null, null)));

    [Theory]
    [InlineData("maybe")]
    [InlineData("true\n")]
    public void Settings_BadFlag_IsRefused(string flag) =>
        Assert.Equal("echoCancel", FieldOf(() => TranscriptRequestRules.Settings(flag, null, null, null, null, null)));

    [Fact]
    public void Settings_DiarizationThatIsNotOne_IsRefused() =>
        Assert.Equal("diarization", FieldOf(() => TranscriptRequestRules.Settings(null, null, null, null, null, "this is not RTTM")));

    [Fact]
    public void Diarization_Rttm_IsRenamedBySpeakers()
    {
        const string rttm = "SPEAKER call 1 0.50 2.00 <NA> <NA> SPEAKER_00 <NA> <NA>\nSPEAKER call 1 3.00 1.00 <NA> <NA> SPEAKER_01 <NA> <NA>\n";

        var segments = TranscriptRequestRules.Diarization(rttm, ["SPEAKER_01=Bob"]);

        Assert.Equal(["SPEAKER_00", "Bob"], segments.Select(s => s.Speaker));
    }
}
