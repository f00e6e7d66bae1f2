using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Audio;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Web;

/// <summary>
/// The demo panel with its speech workers: pocketsphinx behind <c>/v1/audio/transcriptions</c> (with a grammar of the
/// test's phrases, so the words are exact) and espeak-ng behind <c>/v1/audio/speech</c>; the official OpenAI SDK as the
/// client, test speech made by espeak-ng and sox.
/// </summary>
public sealed class AudioGatewayTests(AudioGatewayTests.DemoWithSpeech demo) : IClassFixture<AudioGatewayTests.DemoWithSpeech>
{
    public const string Script = "please send me the report by friday";
    public const string Other = "we should schedule the meeting for next week";

    public sealed class DemoWithSpeech : IAsyncLifetime
    {
        private readonly TempDirectory _files = new("sc-speech");

        public SparkControlApp App { get; private set; } = null!;

        public string SpeechWav { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            SpeechWav = await TestSpeech.MakeAsync(Script, _files.Path, "script");
            App = await SparkControlApp.StartAsync(new Dictionary<string, string?>
            {
                ["Demo:InitialModel"] = string.Empty,
                ["Demo:AsrPhrases:0"] = Script,
                ["Demo:AsrPhrases:1"] = Other,
            });
            using var client = App.CreateClient();
            await Wait.UntilAsync(async () =>
            {
                var models = await client.GetStringAsync("/v1/models");
                return models.Contains("\"whisper-1\"", StringComparison.Ordinal) && models.Contains("\"tts-1\"", StringComparison.Ordinal);
            }, "the gateway lists the demo's audio models", TimeSpan.FromSeconds(60));
        }

        public async Task DisposeAsync()
        {
            await App.DisposeAsync();
            _files.Dispose();
        }
    }

    private AudioClient Sdk(string model) =>
        new OpenAIClient(new ApiKeyCredential("not-checked"), new OpenAIClientOptions { Endpoint = new Uri(demo.App.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) }).GetAudioClient(model);

    [Fact]
    public async Task Sdk_Transcription_Json_IsTheScript()
    {
        await using var audio = File.OpenRead(demo.SpeechWav);

        AudioTranscription transcription = await Sdk("whisper-1").TranscribeAudioAsync(audio, "speech.wav");

        Assert.Equal(Script, transcription.Text);
    }

    [Fact]
    public async Task Sdk_Transcription_VerboseJson_WordsWithTimes()
    {
        await using var audio = File.OpenRead(demo.SpeechWav);

        AudioTranscription transcription = await Sdk("parakeet-tdt-0.6b-v2").TranscribeAudioAsync(audio, "speech.wav", new AudioTranscriptionOptions
        {
            ResponseFormat = AudioTranscriptionFormat.Verbose,
            TimestampGranularities = AudioTimestampGranularities.Word | AudioTimestampGranularities.Segment,
            Language = "en",
        });

        Assert.Equal(Script.Split(' '), transcription.Words.Select(w => w.Word));
        Assert.All(transcription.Words, w => Assert.True(w.StartTime <= w.EndTime && w.EndTime <= transcription.Duration + TimeSpan.FromSeconds(0.5), $"{w.Word} {w.StartTime}-{w.EndTime}"));
        Assert.Equal(transcription.Words.Select(w => w.StartTime).Order(), transcription.Words.Select(w => w.StartTime));
        Assert.Single(transcription.Segments);
        Assert.InRange(transcription.Duration!.Value.TotalSeconds, 1.5, 5);
    }

    [Fact]
    public async Task Sdk_Translation_AnswersEnglishText()
    {
        await using var audio = File.OpenRead(demo.SpeechWav);

        AudioTranslation translation = await Sdk("whisper-1").TranslateAudioAsync(audio, "speech.wav");

        Assert.Equal(Script, translation.Text);
    }

    [Fact]
    public async Task Sdk_Speech_Wav_IsSpeechThatTranscribesBackToItsText()
    {
        BinaryData speech = await Sdk("tts-1").GenerateSpeechAsync(Other, GeneratedSpeechVoice.Alloy, new SpeechGenerationOptions { ResponseFormat = GeneratedSpeechFormat.Wav });
        var wav = speech.ToArray();
        await using var audio = new MemoryStream(wav);
        AudioTranscription heard = await Sdk("whisper-1").TranscribeAudioAsync(audio, "spoken.wav");

        Assert.Equal("RIFF"u8.ToArray(), wav[..4]);
        Assert.Equal("WAVE"u8.ToArray(), wav[8..12]);
        Assert.Equal(Other, heard.Text);
    }

    [Fact]
    public async Task Speech_Pcm_IsRaw24kHzSamplesWithItsContentType()
    {
        using var client = demo.App.CreateClient();
        using var response = await client.PostAsync("/v1/audio/speech", Json(new { model = "kokoro", input = "hello there", voice = "af_heart", response_format = "pcm" }));
        var bytes = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/pcm", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, bytes.Length % 2);
        // "hello there" takes espeak-ng about a second: 24,000 samples of two bytes each per second.
        Assert.InRange(bytes.Length, 24_000, 5 * 48_000);
        Assert.NotEqual("RIFF"u8.ToArray(), bytes[..4]);
    }

    [Fact]
    public async Task Models_ListsTheAudioNamesWithTheirUpstream()
    {
        using var client = demo.App.CreateClient();
        using var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models"));
        var byId = models.RootElement.GetProperty("data").EnumerateArray().ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("root").GetString());

        Assert.Equal("parakeet-tdt-0.6b-v2", byId["whisper-1"]);
        Assert.Equal("parakeet-tdt-0.6b-v2", byId["parakeet-tdt-0.6b-v2"]);
        Assert.Equal("kokoro", byId["tts-1"]);
        Assert.Equal("kokoro", byId["kokoro"]);
    }

    public static TheoryData<string, byte[], string> NotAudio => new()
    {
        { "notes.txt", "these are meeting notes, not audio\n"u8.ToArray(), "its first bytes are text" },
        // A file that is not what its name says: an image named .wav.
        { "speech.wav", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13], "its first bytes are an image" },
        { "empty.wav", [], "it is empty" },
        // RIFF, but an AVI video, not WAVE.
        { "clip.wav", "RIFF\x10\0\0\0AVI LIST"u8.ToArray(), "not a format we know" },
    };

    [Theory]
    [MemberData(nameof(NotAudio))]
    public async Task NotAudio_IsA400ThatSaysWhatItIs(string fileName, byte[] content, string said)
    {
        using var client = demo.App.CreateClient();
        using var response = await client.PostAsync("/v1/audio/transcriptions", Form(("model", "whisper-1")).WithFile(content, fileName, "audio/wav"));
        var error = await ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_audio", error.Code);
        Assert.Equal("file", error.Param);
        Assert.Contains(said, error.Message, StringComparison.Ordinal);
        Assert.Contains("Send WAV, FLAC, Ogg, MP3, WebM or MP4/M4A audio", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<(string, string)[], string, string> BadFields => new()
    {
        { [("model", "whisper-1\n")], "model", "invalid_model" },
        { [], "model", "missing_model" },
        { [("model", "whisper-1"), ("response_format", "xml")], "response_format", "invalid_value" },
        { [("model", "whisper-1"), ("response_format", "json\n")], "response_format", "invalid_value" },
        { [("model", "whisper-1"), ("timestamp_granularities[]", "word")], "timestamp_granularities[]", "invalid_value" },
        { [("model", "whisper-1"), ("response_format", "verbose_json"), ("timestamp_granularities[]", "sentence")], "timestamp_granularities[]", "invalid_value" },
        { [("model", "whisper-1"), ("temperature", "1.5")], "temperature", "invalid_value" },
        { [("model", "whisper-1"), ("temperature", "NaN")], "temperature", "invalid_value" },
        { [("model", "whisper-1"), ("temperature", "0.5\n")], "temperature", "invalid_value" },
        { [("model", "whisper-1"), ("language", "en\n")], "language", "invalid_value" },
        { [("model", "whisper-1"), ("language", "english")], "language", "invalid_value" },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public async Task BadField_IsA400NamingTheField(IEnumerable<(string, string)> fields, string param, string code)
    {
        using var client = demo.App.CreateClient();
        using var response = await client.PostAsync("/v1/audio/transcriptions", Form([.. fields]).WithFile(await File.ReadAllBytesAsync(demo.SpeechWav), "speech.wav", "audio/wav"));
        var error = await ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, error.Param);
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public async Task Translation_WithALanguage_IsRefused_AsItsOutputIsEnglish()
    {
        using var client = demo.App.CreateClient();
        using var response = await client.PostAsync("/v1/audio/translations", Form(("model", "whisper-1"), ("language", "de")).WithFile(await File.ReadAllBytesAsync(demo.SpeechWav), "speech.wav", "audio/wav"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("language", (await ErrorAsync(response)).Param);
    }

    [Fact]
    public async Task WrongModels_SayWhereToGo()
    {
        using var client = demo.App.CreateClient();
        var wav = await File.ReadAllBytesAsync(demo.SpeechWav);
        using var speechModel = await client.PostAsync("/v1/audio/transcriptions", Form(("model", "tts-1")).WithFile(wav, "speech.wav", "audio/wav"));
        using var unknown = await client.PostAsync("/v1/audio/transcriptions", Form(("model", "whisper-large")).WithFile(wav, "speech.wav", "audio/wav"));
        using var asrForSpeech = await client.PostAsync("/v1/audio/speech", Json(new { model = "whisper-1", input = "hi", voice = "af_heart" }));

        Assert.Equal(HttpStatusCode.BadRequest, speechModel.StatusCode);
        Assert.Contains("/v1/audio/speech", (await ErrorAsync(speechModel)).Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var notFound = await ErrorAsync(unknown);
        Assert.Equal("model_not_found", notFound.Code);
        Assert.Contains("whisper-1", notFound.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("tts-1", notFound.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, asrForSpeech.StatusCode);
        Assert.Contains("/v1/audio/transcriptions", (await ErrorAsync(asrForSpeech)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotMultipart_IsA400ThatSaysWhatIsExpected()
    {
        using var client = demo.App.CreateClient();
        using var response = await client.PostAsync("/v1/audio/transcriptions", Json(new { model = "whisper-1", file = "speech.wav" }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("multipart/form-data", (await ErrorAsync(response)).Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadSpeech => new()
    {
        { """{"model":"tts-1","voice":"af_heart"}""", "input" },
        { $$"""{"model":"tts-1","voice":"af_heart","input":"{{new string('a', 4097)}}"}""", "input" },
        { """{"model":"tts-1","input":"hi"}""", "voice" },
        { """{"model":"tts-1","input":"hi","voice":"af_heart","speed":9}""", "speed" },
        { """{"model":"tts-1","input":"hi","voice":"af_heart","response_format":"wav\n"}""", "response_format" },
        { """{"model":"tts-1\n","input":"hi","voice":"af_heart"}""", "model" },
        { """["tts-1"]""", null! },
    };

    [Theory]
    [MemberData(nameof(BadSpeech))]
    public async Task Speech_BadBody_IsA400NamingTheField(string body, string? param)
    {
        using var client = demo.App.CreateClient();
        using var response = await client.PostAsync("/v1/audio/speech", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, (await ErrorAsync(response)).Param);
    }

    [Fact]
    public async Task Speech_AFormatTheWorkerCannotMake_IsTheWorkersErrorInOpenAiShape()
    {
        using var client = demo.App.CreateClient();
        using var response = await client.PostAsync("/v1/audio/speech", Json(new { model = "tts-1", input = "hi", voice = "af_heart", response_format = "mp3" }));
        var error = await ErrorAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", error.Type);
    }

    internal sealed record Error(string Message, string? Type, string? Param, string? Code);

    internal static async Task<Error> ErrorAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = document.RootElement.GetProperty("error");
        string? Text(string name) => error.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return new Error(Text("message")!, Text("type"), Text("param"), Text("code"));
    }

    internal static MultipartFormDataContent Form(params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        return form;
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
}

internal static class FormExtensions
{
    public static MultipartFormDataContent WithFile(this MultipartFormDataContent form, byte[] content, string fileName, string contentType)
    {
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        form.Add(file, "file", fileName);
        return form;
    }
}

/// <summary>Test speech: espeak-ng speaks the text (from stdin), sox makes it 16 kHz mono 16-bit as ASR takes it.</summary>
public static class TestSpeech
{
    public static async Task<string> MakeAsync(string text, string directory, string name)
    {
        var raw = Path.Combine(directory, $"{name}-22k.wav");
        var wav = Path.Combine(directory, $"{name}.wav");
        var spoken = await ProcessRunner.RunAsync("espeak-ng", ["-v", "en-us", "-s", "150", "-w", raw, "--stdin"], stdin: text);
        Assert.True(spoken.ExitCode == 0, spoken.Stderr);
        var converted = await ProcessRunner.RunAsync("sox", ["-V1", raw, "-r", "16000", "-c", "1", "-b", "16", wav]);
        Assert.True(converted.ExitCode == 0, converted.Stderr);
        return wav;
    }
}
