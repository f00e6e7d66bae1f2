using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace SparkControl.Tests.Audio.Echo;

/// <summary>Echo removal in the two-channel call merge of <c>POST /api/audio/label-merge</c> (audio.md §1.7 step 4).</summary>
public sealed class LabelMergeEchoApiTests(LabelMergeApiFixture fixture) : IClassFixture<LabelMergeApiFixture>, IDisposable
{
    private const string Url = "/api/audio/label-merge";
    private readonly HttpClient _client = fixture.App.CreateClient();

    public void Dispose() => _client.Dispose();

    private static object Call(object? options = null) => new
    {
        channels = new[] { 0, 1 }.Select(c => new { words = RecipeCallTranscripts.Channel(c).Select(w => new { word = w.Text, start = w.Start, end = w.End }) }),
        options,
    };

    private async Task<JsonElement> PostOkAsync(object body)
    {
        var response = await _client.PostAsJsonAsync(Url, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static List<string> ChannelText(JsonElement body, int channel) =>
        [.. body.GetProperty("utterances").EnumerateArray().Where(u => u.GetProperty("channel").GetInt32() == channel).Select(u => u.GetProperty("text").GetString()!)];

    [Fact]
    public async Task LabelMerge_RecipeCall_LeakedRemoteSentencesRemovedFromChannel0AndLocalSentencesKept()
    {
        Assert.Equal(2, RecipeCallTranscripts.LeakedRemoteSentences.Count);
        Assert.NotEmpty(RecipeCallTranscripts.RecognisedLocalSentences);

        var body = await PostOkAsync(Call());

        Assert.Equal(RecipeCallTranscripts.RecognisedLocalSentences, ChannelText(body, 0));
        Assert.Equal(RecipeCallTranscripts.Truth.Where(s => s.Channel == 1).Select(s => s.Text), ChannelText(body, 1));
        var echo = body.GetProperty("echo");
        var removed = echo.GetProperty("removed").EnumerateArray().ToList();
        Assert.Equal(string.Join(' ', RecipeCallTranscripts.LeakedRemoteSentences), string.Join(' ', removed.Select(r => r.GetProperty("word").GetString())));
        Assert.Equal("words", echo.GetProperty("delaySource").GetString());
        Assert.InRange(echo.GetProperty("delay").GetDouble(), 0.08, 0.16);
        Assert.InRange(echo.GetProperty("matchedWords").GetInt32(), 3, removed.Count);

        var words = body.GetProperty("words");
        var local = RecipeCallTranscripts.Channel(0);
        foreach (var r in removed)
        {
            var word = words[r.GetProperty("index").GetInt32()];
            Assert.Equal((0, true, "echo"), (word.GetProperty("channel").GetInt32(), word.GetProperty("dropped").GetBoolean(), word.GetProperty("reason").GetString()));
            Assert.Equal(local[r.GetProperty("index").GetInt32()].Start, r.GetProperty("start").GetDouble());

            // The channel-1 word it echoed: the same word, said shortly before, and where it is in the answer.
            var source = r.GetProperty("echoOf");
            var remote = words[source.GetProperty("index").GetInt32()];
            Assert.Equal((1, r.GetProperty("word").GetString()), (remote.GetProperty("channel").GetInt32(), source.GetProperty("word").GetString()));
            Assert.Equal(remote.GetProperty("start").GetDouble(), source.GetProperty("start").GetDouble());
            Assert.Equal(Math.Round(r.GetProperty("start").GetDouble() - source.GetProperty("start").GetDouble(), 3), r.GetProperty("lag").GetDouble());
            Assert.InRange(r.GetProperty("lag").GetDouble(), 0.0, 0.25);
        }

        Assert.Equal(removed.Count, words.EnumerateArray().Count(w => w.TryGetProperty("dropped", out var d) && d.GetBoolean()));
    }

    [Fact]
    public async Task LabelMerge_RecipeCallWithRemoveEchoFalse_LeakedWordsStayAndNoEchoReport()
    {
        var body = await PostOkAsync(Call(new { removeEcho = false }));

        var channel0 = string.Join(' ', ChannelText(body, 0));
        Assert.All(RecipeCallTranscripts.LeakedRemoteSentences, s => Assert.Contains(s, channel0, StringComparison.Ordinal));
        Assert.False(body.TryGetProperty("echo", out _));
        Assert.DoesNotContain(body.GetProperty("words").EnumerateArray(), w => w.TryGetProperty("dropped", out _));
    }

    [Fact]
    public async Task LabelMerge_RecipeCallAsText_OnlyTheLocalSentencesOnTheLocalSpeaker()
    {
        var response = await _client.PostAsJsonAsync($"{Url}?format=text", Call());
        var text = await response.Content.ReadAsStringAsync();

        var local = text.Split('\n').Where(l => l.Contains("] Operator: ", StringComparison.Ordinal)).Select(l => l[(l.IndexOf("Operator: ", StringComparison.Ordinal) + 10)..]);
        Assert.Equal(RecipeCallTranscripts.RecognisedLocalSentences, local);
    }

    [Fact]
    public async Task LabelMerge_HeadphoneCall_NothingRemovedAndNoDelay()
    {
        var call = new
        {
            channels = new object[]
            {
                new { words = new[] { new { word = "please", start = 3.0, end = 3.4 }, new { word = "send", start = 3.5, end = 3.8 } } },
                new { words = new[] { new { word = "hello", start = 0.5, end = 0.8 }, new { word = "there", start = 0.9, end = 1.2 } } },
            },
            options = new { removeEcho = true },
        };

        var body = await PostOkAsync(call);

        var echo = body.GetProperty("echo");
        Assert.Equal((JsonValueKind.Null, "none", 0), (echo.GetProperty("delay").ValueKind, echo.GetProperty("delaySource").GetString(), echo.GetProperty("removed").GetArrayLength()));
        Assert.Equal(["please send"], ChannelText(body, 0));
    }

    [Theory]
    [InlineData("""{"channels":[{"words":[]},{"words":[]}],"options":{"removeEcho":"yes"}}""", "options.removeEcho must be true or false, not \"yes\"")]
    [InlineData("""{"channels":[{"words":[]},{"words":[]}],"options":{"removeEcho":1}}""", "options.removeEcho must be true or false, not 1")]
    [InlineData("""{"channels":[{"words":[]},{"words":[]}],"options":{"removeEcho":{}}}""", "options.removeEcho must be true or false")]
    [InlineData("""{"words":[],"options":{"removeEcho":true}}""", "options.removeEcho needs a two-channel call")]
    [InlineData("""{"channels":[{"words":[]}],"options":{"removeEcho":true}}""", "options.removeEcho needs a two-channel call")]
    public async Task LabelMerge_BadRemoveEcho_Is400NamingTheField(string body, string message)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await _client.PostAsync(Url, content);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["options.removeEcho"], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        Assert.Contains(message, problem.GetProperty("errors").GetProperty("options.removeEcho")[0].GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"words":[],"options":{"removeEcho":false}}""")]
    [InlineData("""{"channels":[{"words":[]},{"words":[]}],"options":{"removeEcho":null}}""")]
    public async Task LabelMerge_HarmlessRemoveEcho_Accepted(string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await _client.PostAsync(Url, content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
