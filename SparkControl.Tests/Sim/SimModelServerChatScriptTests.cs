using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Core.Hosts;
using SparkControl.Sim.Demo;
using SparkControl.Sim.Server;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Sim;

/// <summary>The simulated chat model answering from a script: rules in order, the default, error statuses, streaming, and the file's checks.</summary>
public sealed class SimModelServerChatScriptTests : IAsyncLifetime
{
    private static readonly SimChatScript Script = SimChatScript.Parse(
        """
        {
          "rules": [
            { "match": "weather", "reply": "first rule" },
            { "match": "weather today", "reply": "never: the first rule matches first" },
            { "match": "explode", "reply": "the scripted engine broke", "status": 500 },
            { "match": "later", "reply": "late answer", "delayMs": 1 }
          ],
          "default": "{\"decisions\":[]}"
        }
        """,
        "test script");

    private ScriptedSimServer _sim = null!;

    public async Task InitializeAsync() => _sim = await ScriptedSimServer.StartAsync(Script);

    public async Task DisposeAsync() => await _sim.DisposeAsync();

    private Task<HttpResponseMessage> ChatAsync(string lastUser, bool stream = false) =>
        _sim.Client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = ScriptedSimServer.Model,
            messages = new object[]
            {
                new { role = "system", content = "explode weather" },
                new { role = "user", content = "an earlier message about the weather" },
                new { role = "assistant", content = "ok" },
                new { role = "user", content = new object[] { new { type = "text", text = lastUser } } },
            },
            stream,
        });

    private static async Task<string> ContentAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }

    [Fact]
    public async Task ChatCompletions_LastUserMessageMatchesRules_TheFirstMatchingRuleAnswers()
    {
        using var response = await ChatAsync("what is the weather today?");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("first rule", await ContentAsync(response));
    }

    [Fact]
    public async Task ChatCompletions_NoRuleMatches_TheDefaultAnswers()
    {
        using var response = await ChatAsync("nothing scripted here");

        Assert.Equal("{\"decisions\":[]}", await ContentAsync(response));
    }

    [Fact]
    public async Task ChatCompletions_RuleWithStatus500_IsAnOpenAiError()
    {
        using var response = await ChatAsync("please explode");
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var error = document.RootElement.GetProperty("error");
        Assert.Equal("the scripted engine broke", error.GetProperty("message").GetString());
        Assert.Equal("InternalServerError", error.GetProperty("type").GetString());
        Assert.Equal(500, error.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task ChatCompletions_RuleWithDelay_AnswersAfterIt()
    {
        using var response = await ChatAsync("answer later");

        Assert.Equal("late answer", await ContentAsync(response));
    }

    [Fact]
    public async Task ChatCompletions_Streaming_SendsTheScriptedReply()
    {
        using var response = await ChatAsync("weather", stream: true);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("data: [DONE]", events[^1]);
        var text = string.Concat(events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()));
        Assert.Equal("first rule", text);
    }

    [Fact]
    public async Task Completions_AreNotScripted()
    {
        var response = await _sim.Client.PostAsJsonAsync("/v1/completions", new { model = ScriptedSimServer.Model, prompt = "weather", max_tokens = 3 });
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal("This is a", document.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Fact]
    public void Answer_NoRuleMatchesAndNoDefault_IsTheUsualReply()
    {
        var script = SimChatScript.Parse("""{"rules":[{"match":"x","reply":"y"}]}""", "test");

        Assert.Null(script.Answer("abc"));
        Assert.Equal("y", script.Answer("xyz")?.Reply);
    }

    [Theory]
    [InlineData("""{"rules":[{"match":"a","reply":"b","status":302}]}""", "rules[0].status must be 200 or between 400 and 599, not 302")]
    [InlineData("""{"rules":[{"match":"a","reply":"b","delayms":5}]}""", "unknown key rules[0].delayms")]
    [InlineData("""{"rules":[{"match":"a"}]}""", "rules[0].reply is missing")]
    [InlineData("""{"rules":[{"reply":"b"}]}""", "rules[0].match must be a string")]
    [InlineData("""{"rules":[{"match":"a","reply":"b","delayMs":-1}]}""", "rules[0].delayMs must be between 0 and 600000, not -1")]
    [InlineData("""{"rules":[{"match":"a","reply":"b","delayMs":1.5}]}""", "rules[0].delayMs must be a whole number, not 1.5")]
    [InlineData("""{"default":3}""", "default must be a string")]
    [InlineData("""{}""", "the script has neither rules nor a default")]
    [InlineData("""{"rules":[""", "not valid JSON")]
    public void Load_BadFile_FailsNamingTheKeyAndTheProblem(string json, string problem)
    {
        using var directory = new TempDirectory();
        var path = directory.File("script.json");
        File.WriteAllText(path, json);

        var error = Assert.Throws<FormatException>(() => SimChatScript.Load(path, "Demo:ChatScript"));

        Assert.StartsWith($"Demo:ChatScript ('{path}'): ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DemoOptionsValidator_ChatScriptMissingOrBroken_NamesTheKey()
    {
        using var directory = new TempDirectory();
        var broken = directory.File("broken.json");
        File.WriteAllText(broken, "{\"rules\":[{\"match\":\"a\",\"reply\":\"b\",\"status\":99}]}");
        var validator = new DemoOptionsValidator();

        var missing = validator.Validate(null, new DemoOptions { ChatScript = directory.File("missing.json") });
        var bad = validator.Validate(null, new DemoOptions { ChatScript = broken });

        Assert.StartsWith("Demo:ChatScript names ", Assert.Single(missing.Failures!), StringComparison.Ordinal);
        Assert.Contains("Demo:ChatScript ('", Assert.Single(bad.Failures!), StringComparison.Ordinal);
        Assert.True(validator.Validate(null, new DemoOptions()).Succeeded);
    }

    [Fact]
    public void FromEnvironment_ChatScriptVariable_LoadsTheFile()
    {
        using var directory = new TempDirectory();
        var path = directory.File("script.json");
        File.WriteAllText(path, "{\"default\":\"hello\"}");

        var behaviour = SimBehaviour.FromEnvironment(name => name == SimBehaviour.ChatScriptVariable ? path : null, new SimBehaviour());
        var error = Assert.Throws<FormatException>(() => SimBehaviour.FromEnvironment(name => name == SimBehaviour.ChatScriptVariable ? path + ".missing" : null, new SimBehaviour()));

        Assert.Equal(new SimChatScript([], "hello"), behaviour.ChatScript);
        Assert.StartsWith(SimBehaviour.ChatScriptVariable + " names ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DemoSpark_ChatScriptSetting_AnswersTheDemoModelsChat()
    {
        using var directory = new TempDirectory();
        var path = directory.File("script.json");
        File.WriteAllText(path, "{\"default\":\"hello from the demo script\"}");
        await using var host = DemoSpark.CreateHost(new DemoOptions { ChatScript = path, LoadTime = TimeSpan.Zero }, DemoSpark.LoadCatalog(), TimeProvider.System);
        await host.RunContainerAsync(ContainerLaunch.Of(new ContainerLaunchSpec
        {
            Name = "sparkcontrol-llm",
            Image = "vllm/vllm-openai:v0.11.0",
            Entrypoint = "vllm",
            Command = ["serve", "Qwen/Qwen3-8B", "--served-model-name", "m", "--port", "8000"],
        }), CancellationToken.None);
        using var client = new HttpClient { BaseAddress = host.GetEndpoint(8000), Timeout = Wait.DefaultTimeout };
        await Wait.UntilAsync(async () =>
        {
            try
            {
                return (await client.GetAsync("health")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the demo model serves");

        using var response = await client.PostAsJsonAsync("v1/chat/completions", new { model = "m", messages = new[] { new { role = "user", content = "hi" } } });

        Assert.Equal("hello from the demo script", await ContentAsync(response));
    }
}
