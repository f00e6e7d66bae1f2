using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Hosting;

namespace SparkControl.Tests.Audio;

/// <summary>One app for the class: label-merge requests change nothing on the server.</summary>
public sealed class LabelMergeApiFixture : IAsyncLifetime
{
    public const int MaxWords = 1000;
    public const int MaxRequestBytes = 200_000;

    public SparkControlApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await SparkControlApp.StartAsync(new Dictionary<string, string?>
    {
        ["Audio:MaxWords"] = MaxWords.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Audio:MaxRequestBytes"] = MaxRequestBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Audio:LocalSpeaker"] = "Operator",
    });

    public async Task DisposeAsync() => await App.DisposeAsync();
}

public sealed class LabelMergeApiTests(LabelMergeApiFixture fixture) : IClassFixture<LabelMergeApiFixture>, IDisposable
{
    private const string Url = "/api/audio/label-merge";
    private readonly HttpClient _client = fixture.App.CreateClient();

    public void Dispose() => _client.Dispose();

    private static readonly object Single = new
    {
        words = new object[]
        {
            new { word = " Hello", start = 0.5, end = 0.9 },
            new { word = "there.", start = 1.0, end = 1.4 },
            new { word = "Hi", start = 2.2, end = 2.5 },
            new { word = "2023", start = (double?)null, end = (double?)null },
            new { word = "lost", start = 9.0, end = 9.2 },
            new { word = "tail" },
        },
        segments = new object[] { new { start = 2.0, end = 3.0, speaker = "SPEAKER_01" }, new { start = 0.4, end = 1.5, speaker = "SPEAKER_00" } },
    };

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string body, string query = "")
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await _client.PostAsync(Url + query, content);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    [Fact]
    public async Task LabelMerge_SingleTranscript_WordsInRequestOrderWithSpeakersAndUtterances()
    {
        var response = await _client.PostAsJsonAsync(Url, Single);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var words = body.GetProperty("words").EnumerateArray().ToList();
        Assert.Equal([" Hello", "there.", "Hi", "2023", "lost", "tail"], words.Select(w => w.GetProperty("word").GetString()));
        Assert.Equal(["SPEAKER_00", "SPEAKER_00", "SPEAKER_01", "SPEAKER_01", null, null], words.Select(w => w.GetProperty("speaker").GetString()));
        Assert.Equal((1.0, "overlap"), (words[0].GetProperty("confidence").GetDouble(), words[0].GetProperty("method").GetString()));
        Assert.Equal(JsonValueKind.Null, words[0].GetProperty("reason").ValueKind);
        Assert.False(words[0].TryGetProperty("repairs", out _));
        Assert.False(words[0].TryGetProperty("channel", out _));

        // "2023" had no times: spread between its neighbours (2.5 -> 9.0), and only its first 1.5 s count for the speaker.
        Assert.Equal(2.5, words[3].GetProperty("start").GetDouble());
        Assert.Equal(["missing-start", "interpolated", "capped"], words[3].GetProperty("repairs").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(("beyond-fill-gap", "unassigned"), (words[4].GetProperty("reason").GetString(), words[4].GetProperty("method").GetString()));
        Assert.Equal(("no-timestamp", JsonValueKind.Null), (words[5].GetProperty("reason").GetString(), words[5].GetProperty("start").ValueKind));
        var utterances = body.GetProperty("utterances").EnumerateArray().Select(u => (u.GetProperty("speaker").GetString(), u.GetProperty("text").GetString(), u.GetProperty("overlap").GetBoolean()));
        Assert.Equal([("SPEAKER_00", "Hello there.", false), ("SPEAKER_01", "Hi 2023", false), (null, "lost tail", false)], utterances);
    }

    [Fact]
    public async Task LabelMerge_Channels_CrosstalkMarkedAndChannelsNamed()
    {
        var call = new
        {
            channels = new object[]
            {
                new { words = new[] { new { word = "please", start = 0.0, end = 0.4 }, new { word = "send", start = 0.5, end = 1.5 } } },
                new
                {
                    words = new[] { new { word = "bye", start = 1.0, end = 1.3 }, new { word = "all", start = 5.0, end = 5.3 } },
                    segments = new[] { new { start = 0.9, end = 1.4, speaker = "Ann" }, new { start = 4.9, end = 5.5, speaker = "Ben" } },
                },
            },
        };

        var response = await _client.PostAsJsonAsync(Url, call);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var words = body.GetProperty("words").EnumerateArray().Select(w => (w.GetProperty("speaker").GetString(), w.GetProperty("channel").GetInt32(), w.GetProperty("method").GetString()));
        Assert.Equal([("Operator", 0, "channel"), ("Operator", 0, "channel"), ("Ann", 1, "overlap"), ("Ben", 1, "overlap")], words);
        var utterances = body.GetProperty("utterances").EnumerateArray().Select(u => (u.GetProperty("speaker").GetString(), u.GetProperty("overlap").GetBoolean(), u.GetProperty("channel").GetInt32()));
        Assert.Equal([("Operator", true, 0), ("Ann", true, 1), ("Ben", false, 1)], utterances);
    }

    [Theory]
    [InlineData("srt", "application/x-subrip", "1\n00:00:00,500 --> 00:00:01,400\nSPEAKER_00: Hello there.\n\n")]
    [InlineData("vtt", "text/vtt", "WEBVTT\n\n00:00:00.500 --> 00:00:01.400\n<v SPEAKER_00>Hello there.\n\n")]
    [InlineData("text", "text/plain", "[00:00:00] SPEAKER_00: Hello there.\n[00:00:02] SPEAKER_01: Hi 2023\n[00:00:09] Unknown: lost tail\n")]
    public async Task LabelMerge_Format_SubtitlesOrText(string format, string mediaType, string starts)
    {
        var response = await _client.PostAsJsonAsync($"{Url}?format={format}", Single);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType.CharSet);
        Assert.StartsWith(starts, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LabelMerge_RawServerResponses_ReadAsAsrAndDiarization()
    {
        var verboseJson = new { task = "transcribe", text = "a b", words = new[] { new { word = "a", start = 0.1, end = 0.3 }, new { word = "b", start = 1.1, end = 1.3 } } };
        const string rttm = "SPEAKER call 1 0.0 0.5 <NA> <NA> SPEAKER_00 <NA> <NA>\nSPEAKER call 1 1.0 0.5 <NA> <NA> SPEAKER_01 <NA> <NA>\n";

        var response = await _client.PostAsJsonAsync(Url, new { asr = verboseJson, diarization = rttm });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["SPEAKER_00", "SPEAKER_01"], body.GetProperty("words").EnumerateArray().Select(w => w.GetProperty("speaker").GetString()));
    }

    [Fact]
    public async Task LabelMerge_DiarizedAsrWithoutDiarization_SpeakersFromItsSegments()
    {
        const string diarizedJson = """{"segments":[{"start":0,"end":1,"text":"Hello.","speaker":"A"},{"start":1.2,"end":2,"text":"Hi.","speaker":"B"}]}""";

        var response = await _client.PostAsJsonAsync(Url, new { asr = diarizedJson });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(["A", "B"], body.GetProperty("utterances").EnumerateArray().Select(u => u.GetProperty("speaker").GetString()));
        Assert.Equal(["interpolated"], body.GetProperty("words")[0].GetProperty("repairs").EnumerateArray().Select(r => r.GetString()));
    }

    [Theory]
    [InlineData("{ not json", "detail", "not valid JSON")]
    [InlineData("", "detail", "not valid JSON")]
    [InlineData("[1,2]", "body", "must be a JSON object")]
    [InlineData("{}", "words", "words is required")]
    [InlineData("""{"words":[{"start":0,"end":1}]}""", "words[0].word", "words[0].word is required")]
    [InlineData("""{"words":[{"word":"a","start":"NaN","end":1}]}""", "words[0].start", "must be a finite number of seconds or null, not \"NaN\"")]
    [InlineData("""{"words":[{"word":"a","start":1e999,"end":1}]}""", "words[0].start", "finite number")]
    [InlineData("""{"words":[],"segments":[{"start":0,"end":1}]}""", "segments[0].speaker", "segments[0].speaker is required")]
    [InlineData("""{"words":[],"segments":[{"start":0,"speaker":"A"}]}""", "segments[0].end", "is required")]
    [InlineData("""{"words":[],"segments":[{"start":0,"end":1,"speaker":"A\nB"}]}""", "segments[0].speaker", "control characters")]
    [InlineData("""{"words":[],"segmnts":[]}""", "segmnts", "not a known field")]
    [InlineData("""{"words":[],"options":{"maxFillGap":-1}}""", "options.maxFillGap", "from 0 to 86400")]
    [InlineData("""{"words":[],"options":{"fillNearest":"yes"}}""", "options.fillNearest", "true or false")]
    [InlineData("""{"words":[],"options":{"maxGap":1}}""", "options.maxGap", "not a known field")]
    [InlineData("""{"words":[],"channels":[]}""", "channels", "either")]
    [InlineData("""{"channels":[{"words":[]},{"words":[]},{"words":[]}]}""", "channels", "one or two channels")]
    [InlineData("""{"channels":[{"speaker":"","words":[]}]}""", "channels[0].speaker", "must not be empty")]
    [InlineData("""{"asr":"hello there"}""", "asr", "no timings")]
    [InlineData("""{"words":[],"diarization":"SPEAKER x 1 0 1"}""", "diarization", "9 or 10")]
    public async Task LabelMerge_BadInput_Is400NamingTheProblem(string body, string field, string message)
    {
        var (status, problem) = await PostAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var text = field == "detail" ? problem.GetProperty("detail").GetString() : problem.GetProperty("errors").GetProperty(field)[0].GetString();
        Assert.Contains(message, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LabelMerge_MoreWordsThanTheLimit_Is400NamingTheSetting()
    {
        var words = Enumerable.Range(0, LabelMergeApiFixture.MaxWords + 1).Select(k => new { word = "w", start = k * 0.1, end = (k * 0.1) + 0.05 });

        var response = await _client.PostAsJsonAsync(Url, new { words });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("1,001 words is more than this panel accepts in one request (1,000, setting Audio:MaxWords)", problem.GetProperty("errors").GetProperty("words")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LabelMerge_ManyBadWords_ProblemStaysShort()
    {
        var words = Enumerable.Range(0, 500).Select(_ => new { text = "w" });

        var response = await _client.PostAsJsonAsync(Url, new { words });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(21, problem.GetProperty("errors").EnumerateObject().Count());
        Assert.Contains("and 480 more problems", problem.GetProperty("errors").GetProperty("body")[0].GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task LabelMerge_BodyOverTheSizeLimit_Is413(bool chunked)
    {
        var padding = new string(' ', LabelMergeApiFixture.MaxRequestBytes);
        using var content = new StringContent($"{{\"words\":[]{padding}}}", Encoding.UTF8, "application/json");
        if (chunked)
        {
            content.Headers.ContentLength = null;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, Url) { Content = content };
        request.Headers.TransferEncodingChunked = chunked;
        var response = await _client.SendAsync(request);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("Audio:MaxRequestBytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LabelMerge_UnknownFormat_Is400()
    {
        var response = await _client.PostAsJsonAsync($"{Url}?format=docx", Single);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("format must be json, srt, vtt or text, not 'docx'", problem.GetProperty("errors").GetProperty("format")[0].GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Audio:MaxFillGap", "-00:00:01", "Audio:MaxFillGap must be zero or a positive duration")]
    [InlineData("Audio:MaxFillGap", "soon", "Audio:MaxFillGap: 'soon' is not a duration")]
    [InlineData("Audio:LowConfidence", "2", "Audio:LowConfidence must be between 0 and 1, not 2")]
    [InlineData("Audio:MaxWords", "0", "Audio:MaxWords must be between 1 and 10000000, not 0")]
    [InlineData("Audio:MaxUtterance", "00:00:00", "Audio:MaxUtterance must be a positive duration")]
    [InlineData("Audio:LocalSpeaker", " ", "Audio:LocalSpeaker must not be empty")]
    public void Describe_BadAudioSetting_NamesTheKey(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();

        Assert.Contains(expected, StartupValidation.Describe(configuration), StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_DefaultAudioSettings_Valid()
    {
        Assert.Null(StartupValidation.Describe(new ConfigurationBuilder().Build()));
    }
}
