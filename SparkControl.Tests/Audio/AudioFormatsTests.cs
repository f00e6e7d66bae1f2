using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Tests.Audio;

/// <summary>What transcription and diarization servers return (audio.md §2), read into words and segments.</summary>
public sealed class AudioFormatsTests
{
    [Fact]
    public void Parse_OpenAiVerboseJsonWithWordsAndSegments_WordsAsGiven()
    {
        const string body = """
            {"task":"transcribe","language":"english","duration":8.47,"text":"The cat sat.",
             "segments":[{"id":0,"seek":0,"start":0.0,"end":3.32,"text":" The cat sat.","tokens":[50364],"temperature":0.0,
                          "avg_logprob":-0.28,"compression_ratio":1.2,"no_speech_prob":0.01}],
             "words":[{"word":" The","start":0.0,"end":0.24},{"word":"cat","start":0.24,"end":0.6},{"word":"sat.","start":0.6,"end":1.1}],
             "usage":{"type":"duration","seconds":9}}
            """;

        var transcript = AsrFormats.Parse(body);

        Assert.Equal("verbose_json", transcript.Format);
        Assert.Equal([new TranscriptWord(" The", 0.0, 0.24), new TranscriptWord("cat", 0.24, 0.6), new TranscriptWord("sat.", 0.6, 1.1)], transcript.Words);
        Assert.Empty(transcript.Speakers);
    }

    [Fact]
    public void Parse_VerboseJsonSegmentsOnly_WordsSpreadByLengthAndMarkedEstimated()
    {
        // timestamp_granularities[]=segment (or none): no words; also what parakeet servers with one segment per chunk send.
        var transcript = AsrFormats.Parse("""{"text":"hi there","segments":[{"start":1.0,"end":1.7,"text":" hi there"}],"words":null}""");

        Assert.Equal("segments without word timings", transcript.Format);
        Assert.Equal([("hi", 1.0, 1.2), ("there", 1.2, 1.7)], transcript.Words.Select(w => (w.Text, w.Start!.Value, w.End!.Value)));
        Assert.All(transcript.Words, w => Assert.True(w.TimesEstimated));
    }

    [Fact]
    public void Parse_FasterWhisperNestedWords_Flattened()
    {
        const string body = """
            {"segments":[{"start":0,"end":1,"text":" a b","words":[{"word":" a","start":0.0,"end":0.4,"probability":0.9},{"word":" b","start":0.5,"end":1.0,"probability":0.8}]},
                         {"start":1,"end":2,"text":" c","words":[{"word":" c","start":1.2,"end":1.6,"score":0.7}]}]}
            """;

        var transcript = AsrFormats.Parse(body);

        Assert.Equal("segments with words", transcript.Format);
        Assert.Equal([" a", " b", " c"], transcript.Words.Select(w => w.Text));
        Assert.False(transcript.Words[2].TimesEstimated);
    }

    [Fact]
    public void Parse_OpenAiDiarizedJson_SpeakersFromSegments()
    {
        const string body = """
            {"task":"transcribe","duration":4.2,"text":"Hello. Hi.",
             "segments":[{"type":"transcript.text.segment","id":"seg_001","start":0.0,"end":1.5,"text":"Hello.","speaker":"A"},
                         {"type":"transcript.text.segment","id":"seg_002","start":1.8,"end":2.4,"text":"Hi.","speaker":"B"}]}
            """;

        var transcript = AsrFormats.Parse(body);

        Assert.Equal([new SpeakerSegment(0.0, 1.5, "A"), new SpeakerSegment(1.8, 2.4, "B")], transcript.Speakers);
        Assert.Equal(["Hello.", "Hi."], transcript.Words.Select(w => w.Text));
    }

    [Fact]
    public void Parse_ParakeetDiarizedSegments_DoubledSpeakerPrefixUndone()
    {
        // jfgonsalves/parakeet-diarized: WhisperSegment-shaped segments with its own speaker labels and a fake duration.
        const string body = """
            {"text":"one two","language":"en","task":"transcribe","duration":0.01,"model":"parakeet-tdt-0.6b-v2",
             "segments":[{"id":0,"start":0.0,"end":0.8,"text":"one","speaker":"speaker_SPEAKER_00"},{"id":1,"start":0.9,"end":1.6,"text":"two","speaker":"speaker_SPEAKER_01"}]}
            """;

        var transcript = AsrFormats.Parse(body);

        Assert.Equal(["SPEAKER_00", "SPEAKER_01"], transcript.Speakers.Select(s => s.Speaker));
    }

    [Fact]
    public void Parse_NumericSpeakerOnSegments_ReadAsText()
    {
        var transcript = AsrFormats.Parse("""{"segments":[{"start":0,"end":1,"text":"x","speaker":2}]}""");

        Assert.Equal("2", Assert.Single(transcript.Speakers).Speaker);
    }

    [Fact]
    public void Parse_ParakeetSrtWithWordSuffix_ExactWordsAfterTheMarker()
    {
        // jianchang512/parakeet-api with model=parakeet_srt_words: SRT, then ----..---- and the word list.
        const string body = "1\n00:00:00,000 --> 00:00:01,200\nhello world\n\n----..----\n[{\"start\":0.08,\"end\":0.48,\"word\":\"hello\"},{\"start\":0.56,\"end\":1.12,\"word\":\"world\"}]";

        var transcript = AsrFormats.Parse(body);

        Assert.Equal("parakeet SRT with words", transcript.Format);
        Assert.Equal([new TranscriptWord("hello", 0.08, 0.48), new TranscriptWord("world", 0.56, 1.12)], transcript.Words);
    }

    [Fact]
    public void Parse_SrtText_CuesSpreadIntoWords()
    {
        const string body = "1\r\n00:00:01,000 --> 00:00:02,000\r\n<i>ab cd</i>\r\n\r\n2\r\n00:01:00,500 --> 00:01:01,500\r\nefgh\r\n";

        var transcript = AsrFormats.Parse(body);

        Assert.Equal("SRT", transcript.Format);
        Assert.Equal([("ab", 1.0, 1.5), ("cd", 1.5, 2.0), ("efgh", 60.5, 61.5)], transcript.Words.Select(w => (w.Text, w.Start!.Value, w.End!.Value)));
    }

    [Fact]
    public void Parse_WebVttWithVoices_SpeakersFromVoiceTags()
    {
        const string body = "WEBVTT\n\n00:01.000 --> 00:02.000 align:start\n<v Alice>Good &amp; you?</v>\n\n00:02.500 --> 00:03.000\n<v.loud Bob>Fine\n";

        var transcript = AsrFormats.Parse(body);

        Assert.Equal("WebVTT", transcript.Format);
        Assert.Equal(["Good", "&", "you?", "Fine"], transcript.Words.Select(w => w.Text));
        Assert.Equal([new SpeakerSegment(1.0, 2.0, "Alice"), new SpeakerSegment(2.5, 3.0, "Bob")], transcript.Speakers);
    }

    [Fact]
    public void Parse_BareWordArrayWithNemoNames_Read()
    {
        var transcript = AsrFormats.Parse("""[{"word":"a","start_time":0.1,"end_time":0.2},{"text":"b","start":0.3,"end":null}]""");

        Assert.Equal([new TranscriptWord("a", 0.1, 0.2), new TranscriptWord("b", 0.3, null)], transcript.Words);
    }

    [Theory]
    [InlineData("""{"text":"","words":[],"segments":[]}""")]
    [InlineData("""{"text":"","segments":[]}""")]
    [InlineData("""[]""")]
    public void Parse_SilentAudio_NoWordsNoError(string body)
    {
        Assert.Empty(AsrFormats.Parse(body).Words);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("""{"text":"hello"}""", "verbose_json")] // response_format=json
    [InlineData("hello world", "no timings")] // response_format=text
    [InlineData("""{"words":[{"word":"a","start":"0.5","end":1}]}""", "words[0].start must be a number")]
    [InlineData("""{"words":[{"start":0.5,"end":1}]}""", "words[0] has no word text")]
    [InlineData("""{"words":[1,2]}""", "words[0] must be an object")]
    [InlineData("{\"words\": [", "not valid JSON")]
    [InlineData("1\n00:00:aa,000 --> 00:00:01,000\nx\n", "Line 2")]
    [InlineData("a\n----..----\nnot json", "word list after ----..---- is not valid JSON")]
    public void Parse_Unreadable_SaysWhatIsWrong(string body, string expected)
    {
        var error = Assert.Throws<TranscriptFormatException>(() => AsrFormats.Parse(body));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseDiarization_Rttm10And9FieldsExtraSpacesOtherLines_OnsetPlusDuration()
    {
        const string rttm = """
            ;; a comment line of another writer
            # and another
            SPKR-INFO small 1 <NA> <NA> <NA> unknown SPEAKER_00 <NA> <NA>
            SPEAKER small 1 0.031 4.927 <NA> <NA> SPEAKER_00 <NA> <NA>
            SPEAKER  small  1   5.2   1.0  <NA> <NA> SPEAKER_01 <NA>

            END small 1 <NA> <NA> <NA> <NA> <NA> <NA> <NA>
            """;

        var (segments, format) = DiarizationFormats.Parse(rttm);

        Assert.Equal("RTTM", format);
        Assert.Equal([new SpeakerSegment(0.031, 0.031 + 4.927, "SPEAKER_00"), new SpeakerSegment(5.2, 6.2, "SPEAKER_01")], segments);
    }

    [Theory]
    [InlineData("SPEAKER f 1 0.5 1.0 <NA> <NA> A", "has 8 fields")]
    [InlineData("SPEAKER f 1 0.5 abc <NA> <NA> A <NA> <NA>", "must be seconds")]
    [InlineData("SPEAKER f 1 NaN 1 <NA> <NA> A <NA> <NA>", "must be seconds")]
    [InlineData("just some text", "no SPEAKER lines")]
    [InlineData("""[{"start":0,"end":1}]""", "segments[0] has no speaker")]
    [InlineData("""{"duration":3}""", "has no segments")]
    public void ParseDiarization_Unreadable_SaysWhatIsWrong(string body, string expected)
    {
        var error = Assert.Throws<TranscriptFormatException>(() => DiarizationFormats.Parse(body));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""[{"start":0.5,"end":5.2,"speaker":"SPEAKER_00"}]""")] // pyannote-style tools
    [InlineData("""{"duration":9.0,"segments":[{"start":0.5,"end":5.2,"speaker":"SPEAKER_00"}]}""")] // speaches /v1/audio/diarization
    [InlineData("""{"diarization":[{"start":0,"end":9,"speaker":"SPEAKER_09"}],"exclusiveDiarization":[{"start":0.5,"end":5.2,"speaker":"SPEAKER_00"}]}""")]
    [InlineData("""{"jobId":"x","status":"succeeded","output":{"diarization":[{"start":0.5,"end":5.2,"speaker":"SPEAKER_00"}]}}""")] // pyannoteAI job
    [InlineData("""[{"start":0.5,"end":5.2,"label":"SPEAKER_00"}]""")]
    public void ParseDiarization_PyannoteJsonShapes_Segments(string body)
    {
        var (segments, format) = DiarizationFormats.Parse(body);

        Assert.Equal("JSON", format);
        Assert.Equal(new SpeakerSegment(0.5, 5.2, "SPEAKER_00"), Assert.Single(segments));
    }

    [Fact]
    public void ParseDiarization_Empty_NoSegments()
    {
        Assert.Empty(DiarizationFormats.Parse("  \n").Segments);
    }
}
